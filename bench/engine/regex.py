# regex.py - CPU-bound benchmark: search, findall and substitution with the re module.
import re
import sys

WORDS = ("alpha beta gamma delta user@example.com 2024-05-17 192.168.10.1 "
         "http://example.org/path?q=1 ERROR WARN info 12345 0x1f3a ")


def main(rounds):
    text = WORDS * 200
    emails = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
    dates = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
    ips = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
    words = re.compile(r"\b[a-z]+\b", re.IGNORECASE)
    total = 0
    for i in range(rounds):
        total += len(emails.findall(text))
        total += sum(int(m.group(1)) for m in dates.finditer(text)) % 97
        total += len(ips.findall(text))
        total += len(words.sub(lambda m: m.group(0).upper(), text[:4000]))
        total += len(re.split(r"\s+", text[:2000]))
        total += 1 if re.fullmatch(r"(a|b)*c", "ab" * 20 + "c") else 0
    print(total)


main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)

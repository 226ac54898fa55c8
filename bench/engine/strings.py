# strings.py - CPU-bound benchmark: string building (join, f-strings, format, replace, split).
import sys


def main(rounds):
    total = 0
    for r in range(rounds):
        parts = []
        for i in range(2000):
            parts.append(f"{i}:{i * r % 13:03d}|")
        s = "".join(parts)
        s = s.replace("|", ", ").upper()
        fields = s.split(", ")
        t = ""
        for f in fields[:500]:
            t += f.lower() + ";"
        total += len(s) + len(t) + len("%s-%d" % (fields[-2], r))
        total += sum(1 for f in fields if f.startswith("1"))
    print(total)


main(int(sys.argv[1]) if len(sys.argv) > 1 else 150)

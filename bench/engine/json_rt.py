# json_rt.py - CPU-bound benchmark: encode and decode a nested document many times.
import json
import sys


def document(n):
    return {
        "plugins": [{"id": i, "name": "plugin-%d" % i, "tags": ["a", "b", str(i % 7)],
                     "score": i * 0.25, "enabled": i % 3 == 0, "owner": None,
                     "text": "caf\u00e9 \"quoted\" \\ line\n" * 3}
                    for i in range(n)],
        "meta": {"version": "1.2.3", "count": n, "nested": {"deep": [[1, 2], [3, [4, 5]]]}},
    }


def main(rounds):
    doc = document(200)
    total = 0
    for _ in range(rounds):
        s = json.dumps(doc, sort_keys=True)
        back = json.loads(s)
        total += len(s) + back["meta"]["count"]
        s = json.dumps(back, indent=2, ensure_ascii=False)
        total += len(json.loads(s)["plugins"])
    print(total)


main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)

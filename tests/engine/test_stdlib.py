"""The standard library inside the WebAssembly engine: each module imports and does a real small job
whose result is checked inside the guest; what WASI cannot do (processes, sockets, threads, ctypes)
fails cleanly with the documented error."""
import textwrap
import unittest

from support import engine
from support.require import require

# module -> code run in the engine; it must print "ok" (asserts raise, and the test shows the output).
JOBS = {
    "json": """
        import json
        doc = {"a": [1, 2.5, None, True], "b": {"c": "caf\\u00e9"}}
        s = json.dumps(doc, sort_keys=True)
        assert s == '{"a": [1, 2.5, null, true], "b": {"c": "caf\\\\u00e9"}}', s
        assert json.loads(s) == doc
        try:
            json.loads('{"a": }')
        except json.JSONDecodeError as e:
            assert e.pos == 6, e.pos
        else:
            raise AssertionError("bad JSON parsed")
    """,
    "re": """
        import re
        m = re.match(r"(?P<y>\\d{4})-(?P<m>\\d\\d)", "2024-05-17")
        assert m.group("y", "m") == ("2024", "05")
        assert re.sub(r"\\s+", " ", "a  b\\t\\nc") == "a b c"
        assert re.findall(r"\\b\\w+@\\w+\\.org\\b", "x a@b.org y c@d.org") == ["a@b.org", "c@d.org"]
        assert re.fullmatch(r"(?i)caf\\u00c9", "caf\\u00e9")
    """,
    "math": """
        import math
        assert math.isclose(math.sin(math.pi / 6), 0.5)
        assert math.factorial(20) == 2432902008176640000
        assert math.gcd(84, 36) == 12 and math.comb(10, 3) == 120
        assert math.sqrt(2) ** 2 != 2 and math.isclose(math.sqrt(2) ** 2, 2)
        assert math.isinf(math.inf) and math.isnan(float("nan"))
        assert math.fsum([0.1] * 10) == 1.0
    """,
    "decimal": """
        import decimal
        from decimal import Decimal
        assert Decimal("0.1") + Decimal("0.2") == Decimal("0.3")
        decimal.getcontext().prec = 50
        assert str(Decimal(1) / Decimal(7))[:20] == "0.142857142857142857"
        assert Decimal("1.005").quantize(Decimal("0.01"), rounding=decimal.ROUND_HALF_UP) == Decimal("1.01")
        assert type(decimal.getcontext()).__module__ == "decimal"
        import _decimal  # the C implementation is built in
    """,
    "datetime+zoneinfo": """
        from datetime import datetime, timedelta, timezone
        from zoneinfo import ZoneInfo
        paris = ZoneInfo("Europe/Paris")
        assert datetime(2024, 7, 1, 12, tzinfo=paris).utcoffset() == timedelta(hours=2)
        assert datetime(2024, 1, 15, 12, tzinfo=paris).utcoffset() == timedelta(hours=1)
        ny = datetime(2024, 3, 10, 12, tzinfo=timezone.utc).astimezone(ZoneInfo("America/New_York"))
        assert ny.hour == 8 and ny.tzname() == "EDT", ny
        assert datetime.fromisoformat("2024-02-29T10:00:00") + timedelta(days=1) == datetime(2024, 3, 1, 10)
        assert abs(datetime.now(timezone.utc).year) >= 2024
    """,
    "collections": """
        from collections import Counter, OrderedDict, defaultdict, deque, namedtuple, ChainMap
        assert Counter("abracadabra").most_common(2) == [("a", 5), ("b", 2)]
        d = defaultdict(list); d["x"].append(1); assert d == {"x": [1]}
        q = deque(range(5), maxlen=3); q.appendleft(9); assert list(q) == [9, 2, 3]
        P = namedtuple("P", "x y"); assert P(1, 2)._replace(y=5) == (1, 5)
        o = OrderedDict(a=1, b=2); o.move_to_end("a"); assert list(o) == ["b", "a"]
        assert ChainMap({"a": 1}, {"a": 2, "b": 3})["b"] == 3
    """,
    "itertools": """
        import itertools as it
        assert list(it.permutations("abc", 2))[:3] == [("a", "b"), ("a", "c"), ("b", "a")]
        assert list(it.accumulate([1, 2, 3, 4])) == [1, 3, 6, 10]
        assert [k for k, _ in it.groupby("aabbbc")] == ["a", "b", "c"]
        assert list(it.islice(it.count(10, 5), 3)) == [10, 15, 20]
        assert list(it.pairwise([1, 2, 3])) == [(1, 2), (2, 3)]
        assert len(list(it.product(range(3), repeat=3))) == 27
    """,
    "functools": """
        import functools
        @functools.lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        assert fib(90) == 2880067194370816120 and fib.cache_info().misses == 91
        assert functools.reduce(lambda a, b: a * b, range(1, 6)) == 120
        add3 = functools.partial(lambda a, b: a + b, 3); assert add3(4) == 7
        @functools.singledispatch
        def kind(x): return "other"
        @kind.register
        def _(x: int): return "int"
        assert (kind(1), kind("s")) == ("int", "other")
    """,
    "dataclasses": """
        from dataclasses import dataclass, field, asdict, replace
        @dataclass(frozen=True, order=True)
        class Item:
            name: str
            qty: int = 0
            tags: list = field(default_factory=list, compare=False)
        a, b = Item("a", 2), Item("b", 1)
        assert sorted([b, a])[0] is a and asdict(a) == {"name": "a", "qty": 2, "tags": []}
        assert replace(a, qty=5).qty == 5
        try:
            a.qty = 3
        except Exception as e:
            assert type(e).__name__ == "FrozenInstanceError"
        else:
            raise AssertionError("frozen dataclass assigned")
    """,
    "typing": """
        from typing import Generic, List, Optional, TypedDict, TypeVar, get_type_hints, Protocol
        T = TypeVar("T")
        class Box(Generic[T]):
            def __init__(self, v: T) -> None: self.v = v
        class Movie(TypedDict):
            title: str
            year: Optional[int]
        def f(x: List[int]) -> Box[int]: return Box(x[0])
        assert get_type_hints(f) == {"x": List[int], "return": Box[int]}
        assert Movie.__annotations__["year"] == Optional[int] and f([4]).v == 4
        class Sized(Protocol):
            def size(self) -> int: ...
        assert Box[int].__origin__ is Box
    """,
    "random": """
        import random
        r = random.Random(12345)
        first = [r.randint(1, 100) for _ in range(5)]
        assert first == [random.Random(12345).randint(1, 100) for _ in range(1)] + first[1:]
        r.seed(1); a = r.random(); r.seed(1); assert r.random() == a
        deck = list(range(52)); r.shuffle(deck); assert sorted(deck) == list(range(52))
        assert len(set(random.SystemRandom().getrandbits(64) for _ in range(10))) == 10
        assert len(r.sample(range(100), 10)) == 10
    """,
    "statistics": """
        import statistics as st
        data = [2, 4, 4, 4, 5, 5, 7, 9]
        assert st.mean(data) == 5 and st.median(data) == 4.5 and st.mode(data) == 4
        assert st.pstdev(data) == 2.0
        assert round(st.correlation([1, 2, 3, 4], [2, 4, 6, 8.5]), 3) == 0.998
        assert st.NormalDist(0, 1).cdf(0) == 0.5
    """,
    "hashlib": """
        import hashlib
        assert hashlib.md5(b"abc").hexdigest() == "900150983cd24fb0d6963f7d28e17f72"
        assert hashlib.sha1(b"abc").hexdigest() == "a9993e364706816aba3e25717850c26c9cd0d89d"
        assert hashlib.sha256(b"abc").hexdigest() == (
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        assert hashlib.sha3_256(b"").hexdigest() == (
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a")
        assert hashlib.blake2b(b"abc", digest_size=16).hexdigest() == "cf4ab791c62b8d2b2109c90275287816"
        assert hashlib.sha512(b"").hexdigest().startswith("cf83e1357eefb8bd")
        assert hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 1).hex().startswith("6f4ad8c7")
        import hmac
        assert hmac.new(b"k", b"m", "sha256").hexdigest().startswith("b60090e3")
    """,
    "base64": """
        import base64
        assert base64.b64encode(b"hello\\x00\\xff") == b"aGVsbG8A/w=="
        assert base64.urlsafe_b64decode(b"aGVsbG8A_w==") == b"hello\\x00\\xff"
        assert base64.b32encode(b"abc") == b"MFRGG===" and base64.b16decode(b"6869") == b"hi"
        assert base64.a85decode(base64.a85encode(b"round trip")) == b"round trip"
    """,
    "zlib": """
        import zlib, gzip, io
        data = b"wasmforge " * 1000
        c = zlib.compress(data, 9)
        assert len(c) < 100 and zlib.decompress(c) == data
        assert zlib.crc32(b"hello") == 907060870 and zlib.adler32(b"hello") == 103547413
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb") as g:
            g.write(data)
        assert gzip.decompress(buf.getvalue()) == data
    """,
    "csv": """
        import csv, io
        out = io.StringIO()
        w = csv.writer(out); w.writerow(["a", "b,c", 'd"e']); w.writerow([1, 2.5, None])
        assert out.getvalue() == 'a,"b,c","d""e"\\r\\n1,2.5,\\r\\n', repr(out.getvalue())
        rows = list(csv.DictReader(io.StringIO("x,y\\n1,2\\n3,4\\n")))
        assert rows == [{"x": "1", "y": "2"}, {"x": "3", "y": "4"}]
    """,
    "textwrap": """
        import textwrap
        assert textwrap.wrap("the quick brown fox jumps", width=10) == ["the quick", "brown fox", "jumps"]
        assert textwrap.dedent("  a\\n   b\\n") == "a\\n b\\n"
        assert textwrap.shorten("hello big wide world", width=12) == "hello [...]"
        assert textwrap.indent("a\\nb", "> ") == "> a\\n> b"
    """,
    "unicodedata": """
        import unicodedata as u
        assert u.name("\\u00e9") == "LATIN SMALL LETTER E WITH ACUTE"
        assert u.normalize("NFD", "\\u00e9") == "e\\u0301" and u.category("A") == "Lu"
        assert u.lookup("SNOWMAN") == "\\u2603" and u.numeric("\\u00bd") == 0.5
        assert u.unidata_version.startswith("14.")
    """,
    "struct": """
        import struct
        b = struct.pack("<IhQ?", 1, -2, 2**40, True)
        assert b == b"\\x01\\x00\\x00\\x00\\xfe\\xff" + (2**40).to_bytes(8, "little") + b"\\x01"
        assert struct.unpack("<IhQ?", b) == (1, -2, 2**40, True)
        assert struct.calcsize("@i") == 4 and struct.calcsize("@P") == 4  # wasm32 pointers
        assert struct.unpack(">d", struct.pack(">d", 1.5)) == (1.5,)
    """,
    "array": """
        import array
        a = array.array("d", [1.5, 2.5]); a.append(3.0)
        assert sum(a) == 7.0 and a.itemsize == 8
        i = array.array("i", range(10)); i.reverse(); assert i[0] == 9
        b = array.array("H"); b.frombytes(bytes([1, 0, 2, 0])); assert b.tolist() == [1, 2]
    """,
    "html": """
        import html
        from html.parser import HTMLParser
        assert html.escape('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
        assert html.unescape("&eacute;&#x41;&lt;") == "\\u00e9A<"
        class P(HTMLParser):
            def __init__(self):
                super().__init__(); self.links = []
            def handle_starttag(self, tag, attrs):
                if tag == "a": self.links.append(dict(attrs)["href"])
        p = P(); p.feed('<p><a href="/one">1</a><a href="/two">2</a></p>')
        assert p.links == ["/one", "/two"]
    """,
    "xml.etree": """
        import xml.etree.ElementTree as ET
        root = ET.fromstring('<r a="1"><i n="x">one</i><i n="y">two</i></r>')
        assert [i.get("n") for i in root.iter("i")] == ["x", "y"] and root.find("i").text == "one"
        e = ET.Element("out", v="2"); ET.SubElement(e, "c").text = "&"
        assert ET.tostring(e) == b'<out v="2"><c>&amp;</c></out>'
        try:
            ET.fromstring("<r><unclosed></r>")
        except ET.ParseError:
            pass
        else:
            raise AssertionError("bad XML parsed")
        import pyexpat  # the C parser is built in
    """,
    "urllib.parse": """
        from urllib.parse import urlparse, urlencode, parse_qs, quote, urljoin
        u = urlparse("https://user@example.org:8443/a/b?x=1&y=2#frag")
        assert (u.hostname, u.port, u.path, u.fragment) == ("example.org", 8443, "/a/b", "frag")
        assert parse_qs(u.query) == {"x": ["1"], "y": ["2"]}
        assert urlencode({"q": "a b", "n": 1}) == "q=a+b&n=1" and quote("caf\\u00e9/") == "caf%C3%A9/"
        assert urljoin("http://h/a/b", "../c") == "http://h/c"
    """,
    "string": """
        import string
        assert string.Template("$who likes $what").substitute(who="tim", what="pie") == "tim likes pie"
        assert string.capwords("hello  world") == "Hello World"
        assert "{0:>5}|{1:.2f}".format("ab", 3.14159) == "   ab|3.14"
        assert string.ascii_lowercase[:3] == "abc" and string.digits == "0123456789"
    """,
    "difflib": """
        import difflib
        a, b = ["one\\n", "two\\n", "three\\n"], ["one\\n", "2\\n", "three\\n"]
        diff = list(difflib.unified_diff(a, b, "a", "b", n=0))
        assert diff[2:] == ["@@ -2 +2 @@\\n", "-two\\n", "+2\\n"], diff
        assert difflib.get_close_matches("appel", ["ape", "apple", "peach"]) == ["apple", "ape"]
        assert round(difflib.SequenceMatcher(None, "abcd", "bcde").ratio(), 2) == 0.75
    """,
    "fractions": """
        from fractions import Fraction
        assert Fraction(1, 3) + Fraction(1, 6) == Fraction(1, 2)
        assert Fraction("3.1415").limit_denominator(100) == Fraction(311, 99)
        assert Fraction(0.75) == Fraction(3, 4) and str(Fraction(-6, 4)) == "-3/2"
    """,
    "heapq": """
        import heapq
        h = []
        for x in [5, 1, 8, 3, 9, 2]: heapq.heappush(h, x)
        assert [heapq.heappop(h) for _ in range(3)] == [1, 2, 3]
        assert heapq.nlargest(2, [5, 1, 8, 3]) == [8, 5]
        assert list(heapq.merge([1, 4, 7], [2, 5, 8])) == [1, 2, 4, 5, 7, 8]
    """,
    "bisect": """
        import bisect
        a = [1, 3, 3, 5, 8]
        assert bisect.bisect_left(a, 3) == 1 and bisect.bisect_right(a, 3) == 3
        bisect.insort(a, 4); assert a == [1, 3, 3, 4, 5, 8]
        grades = "FDCBA"; assert [grades[bisect.bisect([60, 70, 80, 90], s)] for s in (33, 99, 77)] == list("FAC")
    """,
    "copy": """
        import copy
        a = {"l": [1, [2, 3]], "t": (4, [5])}
        s, d = copy.copy(a), copy.deepcopy(a)
        a["l"][1].append(9)
        assert s["l"][1] == [2, 3, 9] and d["l"][1] == [2, 3] and d["t"] == (4, [5])
        r = []; r.append(r); c = copy.deepcopy(r); assert c[0] is c
    """,
    "pprint": """
        import pprint
        s = pprint.pformat({"b": list(range(30)), "a": "x"}, width=40)
        assert s.startswith("{'a': 'x',\\n 'b': [0,") and s.count("\\n") > 5, s
        assert pprint.pformat([1, 2]) == "[1, 2]" and pprint.isreadable({"a": 1})
    """,
    "enum": """
        import enum
        class Color(enum.Enum):
            RED = 1
            GREEN = 2
        class Perm(enum.IntFlag):
            R = 4
            W = 2
            X = 1
        assert Color(2) is Color.GREEN and Color["RED"].value == 1 and len(Color) == 2
        assert Perm.R | Perm.W == 6 and Perm.W in (Perm.R | Perm.W) and Perm(7) & Perm.X
        class S(enum.StrEnum):
            A = enum.auto()
        assert S.A == "a"
    """,
    "io": """
        import io
        b = io.BytesIO(); b.write(b"abc"); b.seek(1); assert b.read() == b"bc"
        t = io.TextIOWrapper(io.BytesIO("caf\\u00e9\\nx\\n".encode()), encoding="utf-8")
        assert t.readlines() == ["caf\\u00e9\\n", "x\\n"]
        with open("/tmp/io-check.txt", "w", encoding="utf-8") as f:
            f.write("line1\\nline2\\n")
        with open("/tmp/io-check.txt", "rb") as f:
            assert f.read() == b"line1\\nline2\\n"
        s = io.StringIO(); print("x", 1, file=s); assert s.getvalue() == "x 1\\n"
    """,
}

# module -> code that must fail cleanly under WASI, printing what it saw.
REFUSED = {
    "subprocess": ("""
        import subprocess
        try:
            subprocess.run(["/bin/true"])
        except OSError as e:
            print(e.errno, e.strerror)
    """, "58 wasi does not support processes."),
    "socket": ("""
        import socket
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("127.0.0.1", 9))
        except OSError as e:
            print(e.errno, e.strerror)
    """, "58 Not supported"),
    "threading": ("""
        import threading
        try:
            threading.Thread(target=print).start()
        except RuntimeError as e:
            print(e)
    """, "can't start new thread"),
    "ctypes": ("""
        try:
            import ctypes
        except ImportError as e:
            print(type(e).__name__, e.name)
    """, "ModuleNotFoundError ctypes"),
}


def run(code):
    p = engine.run_python(textwrap.dedent(code))
    return p, "exit %d\nstdout: %s\nstderr: %s" % (p.returncode, p.stdout, p.stderr[-3000:])


def job_test(code):
    def test(self):
        p, info = run(textwrap.dedent(code) + "print('ok')\n")
        self.assertEqual(p.returncode, 0, info)
        self.assertEqual(p.stdout, "ok\n", info)
    return test


def refused_test(code, expected):
    def test(self):
        p, info = run(code)
        self.assertEqual(p.returncode, 0, info)
        self.assertEqual(p.stdout.strip(), expected, info)
        self.assertNotIn("Traceback", p.stderr, info)
    return test


@require(not engine.missing(), engine.missing() or "")
class StdlibInTheEngine(unittest.TestCase):
    """One test per module (test_job_<module>), one per refused facility (test_refused_<module>)."""

    def test_interpreter_is_the_pinned_cpython(self):
        p, info = run("import sys, platform\n"
                      "print(sys.version_info[:3], sys.platform, platform.machine())\n")
        self.assertEqual(p.stdout.strip(), "(3, 11, 2) wasi wasm32", info)


for _name, _code in JOBS.items():
    setattr(StdlibInTheEngine, "test_job_" + _name.replace(".", "_").replace("+", "_"), job_test(_code))
for _name, (_code, _expected) in REFUSED.items():
    setattr(StdlibInTheEngine, "test_refused_" + _name, refused_test(_code, _expected))


if __name__ == "__main__":
    unittest.main()

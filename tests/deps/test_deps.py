"""Every tool the build and the test scripts call comes from a package the project installs.

The command words of the Makefile's and mk/*.mk's recipes (and their $(shell ...)), of every shell
script under scripts/ and .ci/run, and the programs the Python scripts (scripts/**.py, tests/run.py)
start, plus a list of what a parser cannot see (commands named in variables, tools run by name from
other programs), are each resolved with `command -v` and `dpkg -S`. A command whose package is not
in scripts/deps/*.txt fails the test, naming both; packages that every Debian system has (Essential:
yes, or Priority: required) need no listing. A fresh Debian 12 machine gets exactly the listed
packages from `make deps`, so a tool that is only on a developer's machine shows up here first.

Also: every `make TARGET` the README or docs/ name has a rule (make -n succeeds).
"""
import functools
import glob
import os
import re
import shlex
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What the parser cannot see: commands held in variables or run by other programs.
EXPLICIT = {
    "cc": "$(CC) in the Makefile and mk/*.mk",
    "gcc": "CPython's native build (scripts/wasm/build-python.sh)",
    "ar": "the Makefile's archives, CPython's native build",
    "clang-19": "$(FUZZ_CC), $(HTTP_FUZZ_CC), WASI_CC in build-python.sh",
    "llvm-ar-19": "WASI_AR in build-python.sh (the LTO archives)",
    "llvm-ranlib-19": "WASI_RANLIB in build-python.sh",
    "wasm-ld-19": "clang-19 links wasm32-wasi modules with it",
    "wasm-opt": "build-python.sh's 'wasm-opt' step",
    "wasm2c": "scripts/wasm/wasm2native.sh",
    "wat2wasm": "mk/engine.mk",
    "wasm-objdump": "tests/engine/test_build_pipeline.py",
    "dpkg-source": "`apt-get source` in build-python.sh unpacks with it",
    "node": "mk/web.mk (npx vite), tests/ui, the engine's Node baseline",
    "npx": "mk/web.mk",
    "chromium": "tests/ui (WF_CHROMIUM)",
    "valgrind": "tests/valgrind",
    "wrk": "make bench-http",
    "hyperfine": "make bench-engine",
    "pkg-config": "the Makefile's $(shell pkg-config ...)",
    "/usr/lib/postgresql/15/bin/initdb": "tests/support/pg.py",
    "/usr/lib/postgresql/15/bin/pg_ctl": "tests/support/pg.py",
    "/usr/bin/python3": "tests/run.py and the suites",
    "mmdebstrap": "make check-fresh",
    "bzip2": "tar -xjf of the zlib sources in build-python.sh",
    "patch": "build-python.sh's patches",
    "openssl": "tests (certificates for the PostgreSQL cluster)",
}

# Words the parser finds that are not programs to look up.
SHELL_WORDS = set("""
if then else elif fi for while until do done case esac in function select time ! { } [[ ]] [ ]
cd echo printf test set export exit read local return trap eval exec shift wait kill true false :
source . unset type declare let continue break readonly umask ulimit pushd popd command getopts
alias builtin compgen shopt mapfile hash disown jobs fg bg pwd
""".split())
# Wrappers whose first non-option, non-assignment argument is the command.
WRAPPERS = {"sudo", "env", "nice", "timeout", "xargs", "exec", "command", "flock", "unshare", "chroot"}
# Packages our own scripts install when the command is missing, not listed on purpose.
INSTALLED_BY_SCRIPTS = {
    "npm": "scripts/web-tools.sh installs Debian's npm only when no npm is on PATH: a Node.js from"
           " elsewhere brings its own npm, which Debian's conflicts with (scripts/deps/ui.txt)",
}
# Called only where it makes sense, never needed on a machine where the project's tests run.
OPTIONAL = {
    "sudo": "only when not root; Debian's sudo is not listed: a user who is not root has it",
}
# make functions met as $$(name ...) inside $(eval) templates
NOT_COMMANDS = {"dir", "notdir", "abspath", "realpath", "addprefix", "addsuffix", "patsubst", "subst",
                "filter", "filter-out", "wildcard", "foreach", "call", "eval", "shell", "info",
                "warning", "error", "strip", "word", "firstword", "lastword", "if", "or", "and"}


def sources():
    files = [os.path.join(ROOT, "Makefile"), os.path.join(ROOT, ".ci", "run"),
             os.path.join(ROOT, "tests", "run.py")]
    files += sorted(glob.glob(os.path.join(ROOT, "mk", "*.mk")))
    for dirpath, _, names in os.walk(os.path.join(ROOT, "scripts")):
        files += [os.path.join(dirpath, n) for n in sorted(names) if not n.endswith(".txt")]
    return files


def make_shell_text(text):
    """The shell in a makefile: recipe lines (continuations joined) and $(shell ...) bodies, with
    make's own variables and functions ($(CC), $(dir $@), ...) replaced by a plain $V."""
    out = []
    text = text.replace("\\\n", " ")
    for line in text.splitlines():
        out += re.findall(r"\$\(shell ([^)]*)\)", line)
        if line.startswith("\t"):
            out.append(line.lstrip("\t").lstrip("@-+"))
    shell = "\n".join(out)
    while True:
        new = re.sub(r"(?<!\$)\$[({][^(){}]*[)}]", "$V", shell)
        if new == shell:
            break
        shell = new
    shell = re.sub(r"(?<!\$)\$[@<^*?]", "$V", shell)
    return shell.replace("$$", "$")


def command_words(shell):
    """The first word of each simple command in a piece of shell (pragmatic, not a parser)."""
    found = set()
    shell = re.sub(r"<<-?\s*'?(\w+)'?[^\n]*\n.*?\n\s*\1\s*$", "", shell, flags=re.S | re.M)  # here-documents
    shell = re.sub(r"^\s*#.*$", "", shell, flags=re.M)           # comment lines
    shell = re.sub(r"'[^']*'", "''", shell)                        # single-quoted text
    shell = re.sub(r"(^|\s)#.*$", "", shell, flags=re.M)         # trailing comments
    shell = re.sub(r"\$\(\(.*?\)\)", "0", shell, flags=re.S)      # arithmetic
    # double-quoted text: only the commands substituted in it count
    shell = re.sub(r'"((?:[^"\\]|\\.)*)"',
                   lambda m: " ".join("\n" + c + "\n" for c in re.findall(r"\$\(([^()]*)\)", m.group(1))) or "''",
                   shell)
    shell = re.sub(r"\$\{[^}]*\}", "$V", shell)                     # ${parameter}
    shell = re.sub(r"\b[A-Za-z_]\w*=\([^)]*\)", "", shell)           # array assignments
    shell = shell.replace("\\\n", " ")                               # continued lines
    parts = re.split(r"\$\(|`|\|\||&&|[;|&\n(){}]|\bthen\b|\bdo\b|\belse\b|\belif\b|\bif\b|\bwhile\b|!", shell)
    for part in parts:
        try:
            words = shlex.split(part, posix=True)
        except ValueError:
            words = part.split()
        i = 0
        while i < len(words):
            w = words[i]
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=", w):   # an assignment
                i += 1
            elif w in WRAPPERS:
                if w not in SHELL_WORDS:
                    found.add(w)
                i += 1
                if w == "unshare" and "--" in words[i:]:
                    i = words.index("--", i) + 1
                    continue
                if w == "chroot":   # chroot [options] ROOT COMMAND
                    while i < len(words) and words[i].startswith("-"):
                        i += 1
                    i += 1
                    continue
                # the wrapper's options and their values (a number for timeout and nice)
                while i < len(words) and (words[i].startswith("-") or re.match(r"^[0-9.]+[smh]?$", words[i])):
                    i += 1
            else:
                break
        if i >= len(words):
            continue
        w = words[i]
        if w in SHELL_WORDS or w in NOT_COMMANDS or "$" in w or "%" in w or "@" in w:
            continue
        if w.startswith(("-", "<", ">", "'", '"', "*", "=")) or w.endswith(")"):
            continue
        if not re.match(r"^[A-Za-z0-9_./+-]+$", w) or w.startswith("./") or w in (".", ".."):
            continue
        if "/" in w and not w.startswith("/usr/") and not w.startswith("/bin/"):
            continue   # a path inside the project (scripts/..., build/...)
        if w.startswith("\\") or re.match(r"^[0-9]", w) or re.match(r"^[A-Z_][A-Z0-9_]*$", w):
            continue
        found.add(w)
    return found


def python_commands(text):
    found = set()
    for m in re.finditer(r"(?:subprocess\.\w+|_run|run)\(\s*\[\s*\"([^\"$]+)\"", text):
        found.add(m.group(1))
    for m in re.finditer(r"shutil\.which\(\s*\"([^\"]+)\"", text):
        found.add(m.group(1))
    return found


def collect():
    """{command: set of files that run it}"""
    cmds = {}
    for path in sources():
        with open(path, errors="replace") as f:
            text = f.read()
        rel = os.path.relpath(path, ROOT)
        if path.endswith(".py"):
            words = python_commands(text)
        elif path.endswith((".mk",)) or os.path.basename(path) == "Makefile":
            words = command_words(make_shell_text(text))
        elif path.endswith(".mjs"):
            words = set()
        else:
            words = command_words(text)
        # The functions a script defines are not programs.
        defined = set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)", text, flags=re.M))
        for w in words - defined:
            cmds.setdefault(w, set()).add(rel)
    for w, why in EXPLICIT.items():
        cmds.setdefault(w, set()).add("(listed: " + why + ")")
    return cmds


def listed_packages():
    pkgs = set()
    for path in glob.glob(os.path.join(ROOT, "scripts", "deps", "*.txt")):
        with open(path) as f:
            for line in f:
                pkgs.update(line.split("#")[0].split())
    return pkgs


def resolve(cmd):
    """The command's path on this machine, or None."""
    if cmd.startswith("/"):
        return cmd if os.access(cmd, os.X_OK) else None
    p = subprocess.run(["bash", "-c", 'command -v -- "$1"', "_", cmd], capture_output=True, text=True)
    out = p.stdout.strip()
    return out if out.startswith("/") else None


def candidates(path):
    """The names dpkg may know a program by: every hop of its symbolic links (alternatives:
    cc -> /etc/alternatives/cc -> gcc -> gcc-12), each also across the /bin-/usr/bin merge."""
    hops = [path]
    while os.path.islink(hops[-1]) and len(hops) < 10:
        hops.append(os.path.normpath(os.path.join(os.path.dirname(hops[-1]), os.readlink(hops[-1]))))
    cands = []
    for c in hops:
        cands.append(c)
        if c.startswith(("/usr/bin/", "/usr/sbin/")):
            cands.append(c[len("/usr"):])
        elif c.startswith(("/bin/", "/sbin/")):
            cands.append("/usr" + c)
    return cands


def owners(paths):
    """{path: the Debian packages that ship it or a link on the way to it} (one dpkg -S call)."""
    wanted = sorted({c for p in paths for c in candidates(p)})
    p = subprocess.run(["dpkg", "-S", *wanted], capture_output=True, text=True)
    shipped = {}
    for line in p.stdout.splitlines():
        if line.startswith("diversion by"):
            continue
        pkgs, _, path = line.partition(": ")
        shipped.setdefault(path.strip(), pkgs.split(",")[0].strip().split(":")[0])
    return {p: [shipped[c] for c in candidates(p) if c in shipped] for p in paths}


def everywhere(pkgs):
    """The packages every Debian system has: Essential: yes, or Priority: required."""
    p = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Essential} ${Priority}\\n", *sorted(pkgs)],
                       capture_output=True, text=True)
    out = set()
    for line in p.stdout.splitlines():
        name, essential, priority = (line.split() + ["", ""])[:3]
        if essential == "yes" or priority == "required":
            out.add(name)
    return out


class Deps(unittest.TestCase):
    def test_parser_sees_known_commands(self):
        """The parser finds the commands we know are there (so a silent parser cannot pass)."""
        cmds = collect()
        for known in ("apt-get", "wasm2c", "sed", "mmdebstrap", "npm", "make", "tar",
                      "dpkg-query", "clang-19", "wat2wasm", "sha256sum"):
            self.assertIn(known, cmds)
        self.assertIn("llvm-ar-19", command_words("x=1; $(llvm-ar-19 rcs a b) | sort && foo --x"))
        self.assertEqual(command_words("sudo -E apt-get install x; FOO=1 nice -n 5 bar 2>&1 | baz"),
                         {"sudo", "apt-get", "nice", "bar", "baz"})

    def test_every_command_comes_from_a_listed_package(self):
        listed = listed_packages()
        problems = []
        cmds = {c: w for c, w in collect().items() if c not in OPTIONAL}
        paths = {c: resolve(c) for c in cmds}
        pkg_of = owners([p for p in paths.values() if p])
        base = everywhere({p for pkgs in pkg_of.values() for p in pkgs})
        for cmd, where in sorted(cmds.items()):
            by = ", ".join(sorted(where))
            path = paths[cmd]
            if path is None:
                problems.append(f"{cmd}: not found on this machine (run by {by})")
            elif not pkg_of[path]:
                problems.append(f"{cmd}: {path} belongs to no Debian package (run by {by})")
            elif not any(p in listed or p in base or p in INSTALLED_BY_SCRIPTS for p in pkg_of[path]):
                problems.append(f"{cmd}: package {pkg_of[path][0]} is not in scripts/deps/*.txt (run by {by})")
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_named_make_targets_exist(self):
        """Every `make TARGET` named in README.md and docs/*.md has a rule."""
        targets = set()
        for path in [os.path.join(ROOT, "README.md")] + glob.glob(os.path.join(ROOT, "docs", "*.md")):
            with open(path) as f:
                for m in re.finditer(r"`(?:[A-Z_]+=\S+ )*make((?: [a-z][a-z0-9-]*)+)", f.read()):
                    targets.update(m.group(1).split())
        self.assertIn("run", targets)
        # make's database (-p) without running anything (-q, and the empty target ':').
        p = subprocess.run(["make", "-pRrq", "--no-print-directory", "-C", ROOT, ":"],
                           capture_output=True, text=True)
        rules = set(re.findall(r"^([A-Za-z0-9_./-]+):", p.stdout, flags=re.M))
        self.assertIn("test", rules)
        self.assertEqual(sorted(targets - rules), [], "targets named in the docs without a rule")

if __name__ == "__main__":
    unittest.main()

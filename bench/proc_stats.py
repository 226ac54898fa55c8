"""What the run benchmarks read about processes, from /proc: percentiles
of latency lists, memory figures of one process, and the process table.

A process may end while it is read: every reader then answers 0 (or leaves
the process out) instead of failing the benchmark."""
import os


def pct(values, p):
    """The p-th percentile (nearest rank) of a non-empty list."""
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def _kb(path, prefixes):
    """The sum of the kB fields starting with any of prefixes in a
    /proc status-style file; 0 if the process is gone."""
    kb = 0
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefixes):
                    kb += int(line.split()[1])
    except OSError:
        return 0
    return kb


def rss_kb(pid):
    return _kb(f"/proc/{pid}/status", ("VmRSS:",))


def pss_kb(pid):
    return _kb(f"/proc/{pid}/smaps_rollup", ("Pss:",))


def private_kb(pid):
    """Private_Clean + Private_Dirty of one process, in kB."""
    return _kb(f"/proc/{pid}/smaps_rollup", ("Private_Clean:", "Private_Dirty:"))


def processes():
    """{pid: (comm, ppid)} of every process, read in one pass."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                out[int(d)] = (st[st.index("(") + 1:st.rindex(")")],
                               int(st[st.rindex(")") + 2:].split()[1]))
            except (OSError, ValueError, IndexError):
                continue
    return out

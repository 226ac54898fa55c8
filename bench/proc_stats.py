"""What the run benchmarks read about processes, from /proc: percentiles
of latency lists, memory figures of one process, its page faults and CPU
time, and the process table.

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


def private_dirty_kb(pid):
    """Private_Dirty of one process, in kB: the pages it wrote that no
    other process maps (after a fork: the pages it copied or allocated)."""
    return _kb(f"/proc/{pid}/smaps_rollup", ("Private_Dirty:",))


def private_dirty_by_mapping(pid):
    """[(kB, mapping)] of one process's mappings with Private_Dirty, the
    largest first; a mapping is named by its path, [heap], [stack], or
    its address range when anonymous."""
    out = []
    name = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                head = line.split()
                if "-" in head[0] and not head[0].endswith(":"):
                    name = head[5] if len(head) > 5 else "anonymous " + head[0]
                elif head[0] == "Private_Dirty:" and int(head[1]):
                    out.append((int(head[1]), name))
    except OSError:
        return []
    return sorted(out, reverse=True)


def _stat(pid):
    """The fields of /proc/PID/stat from the state on (field 3 of
    proc(5) is index 0); None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return None
    return st[st.rindex(")") + 2:].split()


def faults(pid):
    """(minflt, cminflt, majflt, cmajflt) of a process: its own page
    faults and those of its reaped children (a child's are added to the
    parent that waits for it); zeros if the process is gone."""
    f = _stat(pid)
    return tuple(int(x) for x in f[7:11]) if f else (0, 0, 0, 0)


def cpu_s(pid):
    """CPU seconds of a process and of its reaped children."""
    f = _stat(pid)
    return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK") if f else 0.0

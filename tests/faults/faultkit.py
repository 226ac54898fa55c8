"""What the fault tests share: a small filesystem to fill, runs fired from
many threads with their answers tallied, and the check that every run
answered with a run_id is in the store ("acknowledged => present").

The faults themselves (a full disk, a restarted or frozen PostgreSQL, a
killed zygote, SIGTERM) are made by each test; the long versions (soak,
repeated kills) scale up with WF_FAULTS_SCALE (`make test-faults-long`)."""
import concurrent.futures
import os
import subprocess
import tempfile
import unittest

SCALE = float(os.environ.get("WF_FAULTS_SCALE", "1"))


def scaled(n):
    return max(1, int(n * SCALE))


class SmallDisk:
    """A tmpfs of `mb` MiB mounted on a fresh folder (needs root; the test
    is skipped otherwise). fill() takes every free byte, free() gives it
    back."""

    def __init__(self, mb=16):
        self.dir = tempfile.mkdtemp(prefix="wf-fault-disk-")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mb}m,mode=0700", "tmpfs",
                            self.dir], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            os.rmdir(self.dir)
            raise unittest.SkipTest(f"cannot mount a small tmpfs: {p.stderr.strip()}")
        self.filler = os.path.join(self.dir, "filler")

    def fill(self):
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 65536, 4096, 512, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass  # full at this size: go on with smaller writes
        finally:
            os.close(fd)

    def free(self):
        try:
            os.unlink(self.filler)
        except FileNotFoundError:
            pass

    def remove(self):
        subprocess.run(["umount", "-l", self.dir], capture_output=True,
                       stdin=subprocess.DEVNULL)
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


class Tally:
    """Answers to runs: acknowledged run ids, and every other outcome by what
    the client saw."""

    def __init__(self):
        self.acked = []
        self.unrecorded = 0   # 200 without a run_id ("recorded": false)
        self.other = {}       # status or exception name -> count

    def add(self, r):
        if isinstance(r, Exception):
            k = type(r).__name__
            self.other[k] = self.other.get(k, 0) + 1
        elif r.status == 200 and r.json.get("run_id"):
            self.acked.append(r.json["run_id"])
        elif r.status == 200 and r.json.get("recorded") is False:
            self.unrecorded += 1
        else:
            self.other[r.status] = self.other.get(r.status, 0) + 1

    def __repr__(self):
        return (f"acknowledged={len(self.acked)} unrecorded={self.unrecorded} "
                f"other={self.other}")


def fire_runs(client, plugin, n, workers=8, timeout=120):
    """n runs of `plugin` from `workers` threads; returns a Tally."""
    t = Tally()

    def one(i):
        try:
            return client.run(plugin, f"input {i}", timeout=timeout)
        except Exception as e:  # a refused or reset connection is an outcome too
            return e

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        for r in ex.map(one, range(n)):
            t.add(r)
    return t


def missing_runs(client, run_ids):
    """The acknowledged run ids that GET /api/runs/{id} does not find."""
    lost = []
    for rid in run_ids:
        r = client.get(f"/api/runs/{rid}", timeout=30)
        if r.status != 200 or r.json.get("run_id") != rid:
            lost.append((rid, r.status))
    return lost

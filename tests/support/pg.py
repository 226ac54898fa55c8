#!/usr/bin/python3
"""Throwaway PostgreSQL 15 clusters for tests: initdb + pg_ctl on a folder.

The cluster listens on 127.0.0.1 at a free port (and on a unix socket in the
folder), trusts every local connection, and keeps its port in DIR/port so a
stopped cluster starts again where it was. As root, the server runs as the
`postgres` user (PostgreSQL refuses to run as root).

    url = pg.start(dir)     # postgresql://postgres@127.0.0.1:PORT/postgres
    pg.stop(dir)            # fast shutdown; the data stays
    pg.destroy(dir)         # stop, then remove the folder

With ssl=True (CLI: --ssl) the server also speaks TLS with a certificate for
localhost and 127.0.0.1 signed by a throwaway CA, DIR/ca.crt; DIR/other-ca.crt
is a CA that did not sign it.

CLI: /usr/bin/python3 tests/support/pg.py start [--ssl]|stop|destroy DIR
"""
import os
import shutil
import socket
import subprocess
import sys

PG_BIN = os.environ.get("WF_PG_BIN", "/usr/lib/postgresql/15/bin")
OWNER = "postgres"


def _as_owner(argv):
    """argv, run as the cluster's owner when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", OWNER, "--"] + argv
    return argv


def _run(argv, timeout=120):
    p = subprocess.run(_as_owner(argv), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"{os.path.basename(argv[0])} failed ({p.returncode}): "
                           f"{(p.stderr or p.stdout).strip()}")
    return p.stdout


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _give_to_owner(path):
    if os.geteuid() != 0:
        return
    import pwd
    pw = pwd.getpwnam(OWNER)
    os.chown(path, pw.pw_uid, pw.pw_gid)


def url(dir):
    """The URL of the cluster in `dir` (started or not)."""
    with open(os.path.join(dir, "port")) as f:
        return f"postgresql://postgres@127.0.0.1:{int(f.read())}/postgres"


def running(dir):
    data = os.path.join(dir, "data")
    if not os.path.exists(os.path.join(data, "postmaster.pid")):
        return False
    p = subprocess.run(_as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", data, "status"]),
                       capture_output=True, stdin=subprocess.DEVNULL)
    return p.returncode == 0


def _make_certs(dir):
    """A CA, a server certificate it signs, and an unrelated CA, in dir."""
    def ossl(*args):
        p = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=dir,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {p.stderr.strip()}")
    for ca in ("ca", "other-ca"):
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             f"/CN=wasmforge test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.crt")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(dir, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")
    for f in ("server.key", "server.crt"):
        os.chmod(os.path.join(dir, f), 0o600)
        _give_to_owner(os.path.join(dir, f))


def start(dir, ssl=False):
    """Create (first time) and start the cluster in `dir`; returns its URL."""
    dir = os.path.abspath(dir)
    os.makedirs(dir, exist_ok=True)
    _give_to_owner(dir)
    data = os.path.join(dir, "data")
    if not os.path.exists(os.path.join(data, "PG_VERSION")):
        _run([os.path.join(PG_BIN, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
              "-E", "UTF8", "--locale=C", "--no-sync"])
    if ssl and not os.path.exists(os.path.join(dir, "server.crt")):
        _make_certs(dir)
    if running(dir):
        return url(dir)
    port_file = os.path.join(dir, "port")
    fixed = os.path.exists(port_file)
    last = None
    for _ in range(1 if fixed else 3):  # a port taken between the pick and the start
        port = int(open(port_file).read()) if fixed else _free_port()
        # fsync off: tests never survive a power cut, and it saves seconds
        opts = (f"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c full_page_writes=off -c max_connections=200")
        if os.path.exists(os.path.join(dir, "server.crt")):
            opts += (f" -c ssl=on -c ssl_cert_file={dir}/server.crt"
                     f" -c ssl_key_file={dir}/server.key")
        try:
            _run([os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-l", os.path.join(dir, "log"),
                  "-w", "-t", "60", "-o", opts, "start"])
        except RuntimeError as e:
            last = e
            continue
        with open(port_file, "w") as f:
            f.write(str(port))
        return url(dir)
    raise RuntimeError(f"PostgreSQL did not start in {dir}: {last}; see {dir}/log")


def stop(dir, mode="fast"):
    """Stop the cluster in `dir` if it runs (mode: fast or immediate)."""
    data = os.path.join(os.path.abspath(dir), "data")
    if running(dir):
        _run([os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-m", mode, "-w", "-t", "60", "stop"])


def destroy(dir):
    """Stop the cluster and remove its folder; never raises."""
    try:
        stop(dir, "immediate")
    except Exception as e:  # the folder goes anyway
        print(f"pg: stopping {dir}: {e}", file=sys.stderr)
    shutil.rmtree(dir, ignore_errors=True)


def main(argv):
    ssl = "--ssl" in argv
    argv = [a for a in argv if a != "--ssl"]
    if len(argv) != 3 or argv[1] not in ("start", "stop", "destroy"):
        print("usage: pg.py start [--ssl]|stop|destroy DIR", file=sys.stderr)
        return 2
    try:
        if argv[1] == "start":
            print(start(argv[2], ssl=ssl))
        elif argv[1] == "stop":
            stop(argv[2])
        else:
            destroy(argv[2])
    except Exception as e:
        print(f"pg: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

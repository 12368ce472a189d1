"""Instructions per request, counted by callgrind: a figure that does not move with whatever
else runs on the machine (the REST scenario's req/s moves by 10-15 % between rounds of the same
tree, too much to see a change of a few per cent).

    python -m bench.instructions [--door rooms] [--target list] [--requests 1000] [--per-thread]

Seeds one door's REST fixture in a SQLite database, then runs meetsrv under `valgrind
--tool=callgrind` twice: once answering 20 warm-up requests to the target and then `--requests`
more, one at a time on one connection, and once answering only the warm-up. Prints the
difference divided by `--requests`: the instructions of the whole process (every thread:
Python, SQLite, the user side of system calls) that one more request costs. Run it in each
checkout to compare two trees. Sequential requests leave out what concurrency adds (the GIL
passing between the reactor and the database thread). `--per-thread` also splits the figure by
thread (1: the reactor, which every request queues for; 2 on: the database pool). Needs
valgrind; takes about a minute.
"""

from __future__ import annotations

import argparse
import http.client
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import HOST, PYTHON, SECRET, TWISTD, env, free_port, wait_port
from bench.doors import PROFILES
from bench.seed import Seeder

WARM_UP = 20


def _instructions(folder: Path, db: str, path: str, headers: dict, requests: int) -> dict[str, int]:
    """The instructions meetsrv ran from start to exit, answering WARM_UP + requests GETs, by
    thread ("01" the main thread, then in the order threads started)."""
    port = free_port()
    out = folder / f"callgrind-{requests}.out"
    args = ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
            PYTHON, "-c", TWISTD, "-n", "--pidfile=", "--logfile", str(folder / f"meetsrv-{requests}.log"),
            "meetsrv", "--port", f"tcp:{port}:interface={HOST}", "--db", db,
            "--media", str(folder / "media"), "--secret", SECRET]
    server = subprocess.Popen(args, cwd=folder, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 600, server)
        conn = http.client.HTTPConnection(HOST, port, timeout=120)

        def get() -> int:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status

        while get() == 503:  # still starting
            time.sleep(0.5)
        for _ in range(WARM_UP + requests):
            status = get()
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
        conn.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(600)
    counts = {}
    for part in out.parent.glob(f"{out.name}-*"):  # one file per thread
        found = re.search(r"^(?:summary|totals): (\d+)", part.read_text(), re.M)
        if found is None:
            raise RuntimeError(f"no instruction count in {part}")
        counts[part.name.rsplit("-", 1)[1]] = int(found.group(1))
    if not counts:
        raise RuntimeError(f"no callgrind output for {out}")
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--door", default="rooms", choices=sorted(PROFILES))
    ap.add_argument("--target", default="list", help="a key of the door's rest_targets (list, detail_info, ...)")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--per-thread", action="store_true", help="also the figure of each thread")
    a = ap.parse_args(argv)
    door = PROFILES[a.door]
    folder = Path(tempfile.mkdtemp(prefix="meetsrv-instructions-"))
    db = f"sqlite:///{folder}/bench.sqlite3"
    seeder = Seeder(db)
    seeder.create_schema()
    fx = door.rest_fixture(seeder)
    seeder.close()
    targets = {key: path for key, _label, path, _kind in door.rest_targets(fx)}
    if a.target not in targets:
        ap.error(f"--target: one of {', '.join(targets)}")
    headers = door.headers(fx["token"])
    base = _instructions(folder, db, targets[a.target], headers, 0)
    more = _instructions(folder, db, targets[a.target], headers, a.requests)
    per_request = (sum(more.values()) - sum(base.values())) / a.requests
    print(f"{a.door} {a.target} GET {targets[a.target]}: {per_request:,.0f} instructions per request "
          f"({a.requests} requests; the process ran {sum(base.values()):,} without them)")
    if a.per_thread:
        for thread in sorted(set(base) | set(more)):
            name = " (the reactor)" if thread == "01" else ""
            print(f"  thread {thread}{name}: {(more.get(thread, 0) - base.get(thread, 0)) / a.requests:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

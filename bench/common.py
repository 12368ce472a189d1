"""Shared plumbing: subprocesses (meetsrv under twistd, baselines, load generators), ports,
resident memory, percentiles, machine facts."""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SRC = ROOT / "src"
PYTHON = sys.executable
HOST = "127.0.0.1"
# the signing key meetsrv runs with in the bench (bench/seed.py signs directory tokens with it)
SECRET = "bench-secret"
TWISTD = "import sys; sys.argv[0] = 'twistd'; from twisted.scripts.twistd import run; run()"


def raise_nofile(want: int = 1 << 20) -> int:
    """Raise the open-files soft limit as far as the hard limit allows; returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def env(**extra) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(SRC), str(ROOT)] + ([e["PYTHONPATH"]] if e.get("PYTHONPATH") else []))
    e["PYTHONUNBUFFERED"] = "1"
    e.update({k: str(v) for k, v in extra.items()})
    return e


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB (from /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User+system CPU time a process has used (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(parts[11]) + int(parts[12])) / ticks


def percentile(values, p: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def median(values):
    return percentile(values, 50)


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


@dataclass
class Proc:
    """A server subprocess (meetsrv under twistd, or a baseline) listening on `port`."""

    name: str
    popen: subprocess.Popen
    port: int
    log: Path
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Workdir:
    """A scratch folder under bench/results/tmp/ for databases, media and logs of one run."""

    def __init__(self, base: Path):
        self.path = base / "tmp" / f"run-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.path.mkdir(parents=True, exist_ok=True)
        self._n = 0

    def new(self, stem: str) -> Path:
        self._n += 1
        p = self.path / f"{self._n:02d}-{stem}"
        p.mkdir(parents=True, exist_ok=True)
        return p

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def start_meetsrv(folder: Path, db: str, redis: str | None = None, redis_prefix: str | None = None,
                  name: str = "meetsrv", extra_args=(), port: int | None = None) -> Proc:
    """`twistd -n --pidfile= meetsrv` as a real subprocess, on `port` (default: a free port) on
    127.0.0.1."""
    port = port or free_port()
    log = folder / f"{name}-{port}.log"
    args = [
        PYTHON, "-c", TWISTD, "-n", "--pidfile=", "--logfile", str(log), "meetsrv",
        "--port", f"tcp:{port}:interface={HOST}:backlog=4096",
        "--db", db,
        "--media", str(folder / "media"),
        "--secret", SECRET,
    ]
    if redis:
        args += ["--redis", redis, "--redis-prefix", redis_prefix or f"bench:{uuid.uuid4().hex[:8]}:"]
    args += list(extra_args)
    popen = subprocess.Popen(args, cwd=folder, env=env(), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=open(folder / f"{name}-{port}.err", "w"),
                             preexec_fn=lambda: raise_nofile())
    proc = Proc(name, popen, port, log)
    try:
        wait_port(port, 60, popen)
    except Exception:
        proc.stop()
        raise RuntimeError(f"{name} did not start: see {log} and {folder / f'{name}-{port}.err'}")
    return proc


def start_baseline(folder: Path, module: str, name: str) -> Proc:
    """A bench/baselines/<module>.py server as a subprocess."""
    port = free_port()
    log = folder / f"{name}-{port}.log"
    popen = subprocess.Popen([PYTHON, "-m", f"bench.baselines.{module}", str(port)], cwd=ROOT, env=env(),
                             stdin=subprocess.DEVNULL, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                             preexec_fn=lambda: raise_nofile())
    proc = Proc(name, popen, port, log)
    wait_port(port, 30, popen)
    return proc


def run_json(args, input_obj=None, timeout: float = 600) -> dict:
    """Run a load-generator module in its own process; it prints one JSON object as its last line."""
    p = subprocess.run([PYTHON, "-m", *args], cwd=ROOT, env=env(), input=json.dumps(input_obj) if input_obj is not None else None,
                       capture_output=True, text=True, timeout=timeout, preexec_fn=lambda: raise_nofile())
    lines = [line for line in p.stdout.strip().splitlines() if line.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"{args} failed ({p.returncode}): {p.stderr[-2000:]}")
    return json.loads(lines[-1])


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine() -> dict:
    import autobahn
    import klein

    import twisted

    cpu = ""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = ""
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) // 1024} MiB"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        if subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip():
            commit += " (src/ modified)"
    except OSError:
        commit = ""
    wrk = shutil.which("wrk")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "twisted": twisted.__version__,
        "klein": getattr(klein, "__version__", "?"),
        "autobahn": autobahn.__version__,
        "wrk": subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip()
        if wrk else None,
        "loadavg_start": _read("/proc/loadavg").split()[:3],
        "commit": commit,
    }

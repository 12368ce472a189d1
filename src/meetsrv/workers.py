"""`--workers N`: N server processes sharing one listening port, supervised by the twistd process.

Each worker is `twistd -n meetsrv` with the same options, bound to the port with SO_REUSEPORT,
so the kernel spreads connections across them (by connection, evenly). The supervisor holds a
bound, non-listening socket on the port the whole time: a busy port fails at start, once, and no
other program can take the port between two workers' restarts. A worker that dies is started
again; stopping the supervisor stops every worker. Workers share the database and need --redis
as their bus, as any processes of one server do.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from twisted.application import service
from twisted.internet import defer, protocol
from twisted.logger import Logger

from meetsrv.config import ConfigError, Settings

log = Logger()

READY_FD = 3  # a worker writes one line here once it listens
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class TcpAddress:
    host: str
    port: int


def tcp_address(port_description: str) -> TcpAddress:
    """The host and port of a `tcp:PORT[:interface=HOST]` (or bare `PORT`) description."""
    parts = port_description.split(":")
    if parts[0].isdigit():
        parts = ["tcp", *parts]
    if parts[0] != "tcp" or len(parts) < 2 or not parts[1].isdigit():
        raise ConfigError(f"--workers: needs a tcp:PORT listening address, got {port_description!r}")
    host = "0.0.0.0"
    for part in parts[2:]:
        key, _, value = part.partition("=")
        if key == "interface" and value:
            host = value
    return TcpAddress(host, int(parts[1]))


def worker_count(value: str | int) -> int:
    """`auto` is the number of cores."""
    if isinstance(value, int):
        count = value
    elif str(value).strip().lower() == "auto":
        count = os.cpu_count() or 1
    else:
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()):
            raise ConfigError(f"--workers: expected a number or 'auto', got {value!r}")
        count = int(text)
    if count < 1:
        raise ConfigError(f"--workers: expected at least 1, got {value!r}")
    return count


def check_workers(settings: Settings) -> None:
    """Several workers are several processes of one server: they need a shared bus."""
    if settings.workers > 1 and not settings.redis:
        raise ConfigError("--workers: several processes need --redis (their shared bus)")
    if settings.workers > 1:
        tcp_address(settings.port)


def reuse_port_socket(address: TcpAddress, listen: bool, backlog: int = 1024) -> socket.socket:
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((address.host, address.port))
        if listen:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def listen_reuse_port(reactor, port_description: str, factory):
    """Listen on a tcp address beside the other workers (SO_REUSEPORT); the IListeningPort."""
    address = tcp_address(port_description)
    sock = reuse_port_socket(address, listen=True)
    try:
        return reactor.adoptStreamPort(sock.fileno(), sock.family, factory)
    finally:
        sock.close()  # the reactor holds its own duplicate


def tell_supervisor_ready() -> None:
    """A worker says it listens (the supervisor gave it a pipe on READY_FD)."""
    try:
        os.write(READY_FD, b"ready\n")
        os.close(READY_FD)
    except OSError:
        pass


def watch_supervisor(reactor, interval: float = 1.0):
    """A worker stops when its supervisor is gone (killed without stopping it)."""
    from twisted.internet.task import LoopingCall

    parent = os.getppid()

    def check():
        if os.getppid() != parent:
            log.warn("the supervisor is gone; this worker stops")
            reactor.stop()

    loop = LoopingCall(check)
    loop.clock = reactor
    loop.start(interval, now=False)
    return loop


class _Worker(protocol.ProcessProtocol):
    def __init__(self, supervisor: WorkerSupervisor, index: int):
        self.supervisor = supervisor
        self.index = index
        self.ended = defer.Deferred()

    def childDataReceived(self, fd, data):
        if fd == READY_FD and b"ready" in data:
            self.supervisor.worker_ready(self)

    def processEnded(self, reason):
        self.ended.callback(getattr(reason.value, "exitCode", None))
        self.supervisor.worker_ended(self, reason)


class WorkerSupervisor(service.Service):
    """Starts `settings.workers` worker processes, restarts any that dies, stops them together.

    `options` are the twistd options the workers get (the supervisor's own, less --workers)."""

    def __init__(self, settings: Settings, options: dict, reactor=None):
        self.settings = settings
        self.options = options
        self.reactor = reactor
        self.address = tcp_address(settings.port)
        self.workers: dict[int, _Worker] = {}
        self.failures: dict[int, int] = {}
        self.ready: set[int] = set()
        self._holder: socket.socket | None = None

    def hold_port(self) -> None:
        """Bind the port (not listening) so a busy port fails now, with one line."""
        try:
            self._holder = reuse_port_socket(self.address, listen=False)
        except OSError as e:
            raise ConfigError(f"--port: cannot listen on {self.address.host}:{self.address.port}: "
                              f"{e.strerror or e}")

    def startService(self):
        super().startService()
        if self.reactor is None:
            from twisted.internet import reactor

            self.reactor = reactor
        if self._holder is None:
            self.hold_port()
        for index in range(1, self.settings.workers + 1):
            self._spawn(index)

    def _command(self, index: int) -> list[str]:
        args = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=", "meetsrv"]
        for name, value in sorted(self.options.items()):
            if name in ("workers", "worker-index", "secret") or value is None:
                continue
            if name in FLAGS:
                if value:
                    args.append(f"--{name}")
            else:
                args.append(f"--{name}={value}")
        args.append(f"--worker-index={index}")
        return args

    def _spawn(self, index: int) -> None:
        env = dict(os.environ)
        # the signing key goes through the environment, never argv (visible in ps)
        env["MEETSRV_SECRET"] = self.settings.secret or ""
        env.pop("MEETSRV_WORKERS", None)
        src = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        worker = _Worker(self, index)
        self.workers[index] = worker
        self.reactor.spawnProcess(
            worker, sys.executable, self._command(index), env=env,
            childFDs={0: "w", 1: 1, 2: 2, READY_FD: "r"},
        )

    def worker_ready(self, worker: _Worker) -> None:
        self.failures[worker.index] = 0
        first_time = len(self.ready) < self.settings.workers
        self.ready.add(worker.index)
        if first_time and len(self.ready) == self.settings.workers:
            log.info("meetsrv listening on {port} with {n} workers", port=self.settings.port,
                     n=self.settings.workers)

    def worker_ended(self, worker: _Worker, reason) -> None:
        if self.workers.get(worker.index) is worker:
            del self.workers[worker.index]
        if not self.running:
            return
        failures = self.failures.get(worker.index, 0)
        self.failures[worker.index] = failures + 1
        delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
        log.warn("worker {index} ended ({reason}); starting it again in {delay} s",
                 index=worker.index, reason=reason.getErrorMessage(), delay=delay)
        self.reactor.callLater(delay, self._respawn, worker.index)

    def _respawn(self, index: int) -> None:
        if self.running and index not in self.workers:
            self._spawn(index)

    def stopService(self):
        super().stopService()
        waits = []
        for worker in list(self.workers.values()):
            try:
                worker.transport.signalProcess(signal.SIGTERM)
            except Exception:  # already gone
                continue
            waits.append(worker.ended)
        d = defer.DeferredList(waits)

        def kill_stragglers():
            for worker in list(self.workers.values()):
                try:
                    worker.transport.signalProcess(signal.SIGKILL)
                except Exception:
                    pass

        timer = self.reactor.callLater(30, kill_stragglers)

        def done(_):
            if timer.active():
                timer.cancel()
            if self._holder is not None:
                self._holder.close()
                self._holder = None

        return d.addBoth(done)


# twistd flags (no value) among the options handed to workers
def _flags() -> frozenset[str]:
    from twisted.plugins.meetsrv_plugin import Options

    return frozenset(flag[0] for flag in Options.optFlags)


FLAGS = _flags()

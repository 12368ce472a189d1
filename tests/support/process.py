"""Running `twistd -n meetsrv` as a real process, as a user would."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

from twisted.internet import defer, protocol

TWISTD = str(Path(sys.executable).parent / "twistd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Watcher(protocol.ProcessProtocol):
    def __init__(self):
        self.output = b""
        self.ready = defer.Deferred()
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self.output += data
        if not self.ready.called and b"meetsrv listening" in self.output:
            self.ready.callback(self)

    errReceived = outReceived

    def processEnded(self, reason):
        code = getattr(reason.value, "exitCode", None)
        if not self.ready.called:
            self.ready.errback(RuntimeError(f"twistd exited ({code}) before listening:\n{self.output.decode(errors='replace')}"))
        self.ended.callback(code)


class TwistdProcess:
    def __init__(self, args: list[str], cwd: str, env: dict | None = None):
        self.args = args
        self.cwd = cwd
        self.env = env
        self.watcher = _Watcher()
        self.transport = None

    def spawn(self):
        from twisted.internet import reactor

        import meetsrv

        env = dict(os.environ)
        env.update(self.env or {})
        # the folder holding meetsrv/ and twisted/plugins/, whether installed or run from src/
        src = str(Path(meetsrv.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        self.transport = reactor.spawnProcess(
            self.watcher, TWISTD, [TWISTD, "-n", "--pidfile=", "meetsrv", *self.args], env=env, path=self.cwd
        )
        return self

    async def started(self, timeout: float = 30):
        from twisted.internet import reactor

        await self.watcher.ready.addTimeout(timeout, reactor)
        return self

    async def wait_for(self, text: str, count: int = 1, timeout: float = 30):
        """Until `text` has appeared `count` times in the output (real processes: polled)."""
        from twisted.internet import reactor, task

        waited = 0.0
        while self.output.count(text) < count:
            if waited >= timeout or self.watcher.ended.called:
                raise AssertionError(f"{text!r} x{count} not seen:\n{self.output}")
            await task.deferLater(reactor, 0.1, lambda: None)
            waited += 0.1

    async def stop(self, timeout: float = 15):
        from twisted.internet import reactor

        if not self.watcher.ended.called:
            try:
                self.transport.signalProcess(signal.SIGTERM)
            except Exception:
                pass
        d = defer.Deferred()
        self.watcher.ended.addBoth(lambda code: (d.called or d.callback(code), code)[1])
        return await d.addTimeout(timeout, reactor)

    async def ended(self, timeout: float = 30):
        from twisted.internet import reactor

        d = defer.Deferred()
        self.watcher.ended.addBoth(lambda code: (d.called or d.callback(code), code)[1])
        return await d.addTimeout(timeout, reactor)

    @property
    def output(self) -> str:
        return self.watcher.output.decode("utf-8", "replace")

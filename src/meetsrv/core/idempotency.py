"""Idempotency keys: a creating request sent again with the same Idempotency-Key by the same
user gets the first answer again, and creates nothing twice (http/idempotency.py applies it to
the doors' create routes).

A key lives `ttl` seconds (24 h). The same key with another request (method, path or body)
is a mistake of the client's; the same key while the first request is still being answered is
one too. A request that fails (an error, an outage) keeps no answer: it may be sent again. A
claim left unfinished `stale` seconds (its process died answering it) is taken over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from twisted.internet import defer, task
from twisted.logger import Logger

from meetsrv.core.clock import Clock, reactor_time
from meetsrv.store.idempotency import IdempotencyStore

log = Logger()


@dataclass(frozen=True)
class Claim:
    state: str  # "new": answer it; "done": the first answer; "mismatch"; "busy"
    id: int
    status: int | None = None
    headers: tuple[tuple[str, ...], ...] = ()
    body: bytes = b""


class IdempotencyKeys:
    ttl = 24 * 3600.0
    stale = 60.0
    sweep_interval = 3600.0

    def __init__(self, store: IdempotencyStore, clock: Clock):
        self.store = store
        self.clock = clock
        self._sweeper: task.LoopingCall | None = None

    async def claim(self, user_id: int, key: str, request: str, fingerprint: str) -> Claim:
        now = self.clock.seconds()
        found = await self.store.claim(user_id, key, request, fingerprint, now, now - self.ttl, now - self.stale)
        return Claim(found["state"], found["id"], found.get("status"),
                     tuple(tuple(h) for h in found.get("headers", ())), found.get("body", b""))

    async def finish(self, claim: Claim, status: int, headers: Iterable[Sequence[str]], body: bytes) -> None:
        await self.store.finish(claim.id, status, [list(h) for h in headers], body)

    async def release(self, claim: Claim) -> None:
        await self.store.release(claim.id)

    def start(self) -> None:
        self._sweeper = sweeper = task.LoopingCall(self._sweep)
        sweeper.clock = reactor_time(self.clock)
        sweeper.start(self.sweep_interval, now=False).addErrback(
            lambda f: log.failure("idempotency key sweep stopped", f))

    def _sweep(self) -> defer.Deferred[int | None]:
        return self.store.expire(self.clock.seconds() - self.ttl).addErrback(
            lambda f: log.warn("expiring idempotency keys failed: {error}", error=f.getErrorMessage()))

    def stop(self) -> None:
        if self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()
        self._sweeper = None

"""The delayed save of directory events, as a service with start() and stop().

A pending event is a database row first and a `clock.callLater` second. Saving is a claim in one
transaction (UPDATE ... WHERE saved_at IS NULL), so with several processes on one database each
pending event is saved exactly once, whichever process's timer fires first.

Leases say which process holds a row's timer. The process that writes a row holds its lease and
renews the leases it holds every `renew_interval` seconds; on the same tick it takes the rows
whose lease ran out (their process died, or stopped and released them) and arms them (an overdue
one is saved at once). So a row whose timer died with its process is taken over within
`lease_time + renew_interval` seconds, not at the next sweep. Two processes may both hold a
timer for a row (one hung past its lease, then woke): the conditional claim still saves it once.
At start a process takes every free row, before it serves.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.python.failure import Failure

from meetsrv.core.clock import Clock, DelayedCall, reactor_time
from meetsrv.store.db import Row
from meetsrv.store.meetings.pending_events import PendingEventStore

log = Logger()


def process_name() -> str:
    """Who holds a lease: this host and process, and a random part (a pid is reused)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class DelayedSaveService:
    retry_delay = 30.0
    lease_time = 6.0
    renew_interval = 2.0

    def __init__(self, store: PendingEventStore, clock: Clock, owner: str | None = None):
        self.store = store
        self.clock = clock
        self.owner = owner or process_name()
        self._ticker: task.LoopingCall | None = None
        self._calls: dict[int, DelayedCall] = {}
        self._running: set[defer.Deferred[Any]] = set()
        self._stopped = True

    def lease(self) -> tuple[str, float]:
        """(owner, until) for a row this process writes now."""
        return self.owner, self.clock.seconds() + self.lease_time

    async def start(self) -> None:
        """Take and arm every free pending event; the overdue ones are saved before this fires."""
        self._stopped = False
        await self._take_free()
        if self.renew_interval and not self._stopped:
            self._ticker = ticker = task.LoopingCall(self._tick)
            ticker.clock = reactor_time(self.clock)
            ticker.start(self.renew_interval, now=False).addErrback(
                lambda f: log.failure("pending event leases stopped", f))

    def _take_free(self) -> defer.Deferred[Any]:
        now = self.clock.seconds()
        d = self.store.take_free(self.owner, now, now + self.lease_time)

        def arm(rows: list[Row]) -> defer.Deferred[Any]:
            now = self.clock.seconds()
            overdue: list[defer.Deferred[int | None]] = []
            for row in rows:
                if row["due_at"] <= now:
                    overdue.append(self.save(row["id"]))
                else:
                    self.schedule(row["id"], row["due_at"])
            return defer.DeferredList(overdue)

        return d.addCallback(arm)

    def _tick(self) -> defer.Deferred[Any]:
        """Renew this process's leases, then take the rows whose lease ran out."""
        def failed(failure: Failure) -> None:
            log.warn("pending event leases: {error}", error=failure.getErrorMessage())

        d: defer.Deferred[Any] = self.store.renew(self.owner, self.clock.seconds() + self.lease_time)
        d.addCallback(lambda _: self._take_free())
        d.addErrback(failed)
        self._running.add(d)

        def finished(result: object) -> object:
            self._running.discard(d)
            return result

        return d.addBoth(finished)

    def stop(self) -> defer.Deferred[Any]:
        """Cancel the timers and give up the leases (another process takes the rows at once; the
        next start here would too), and wait for saves under way."""
        self._stopped = True
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        self._ticker = None
        held = bool(self._calls)
        for call in self._calls.values():
            if call.active():
                call.cancel()
        self._calls.clear()
        waits: list[defer.Deferred[Any]] = list(self._running)
        if held:
            waits.append(self.store.release(self.owner).addErrback(
                lambda f: log.warn("releasing pending event leases failed: {error}", error=f.getErrorMessage())))
        return defer.DeferredList(waits)

    def idle(self) -> defer.Deferred[Any]:
        """Fires when the saves under way now have finished (tests wait on it after advancing a clock)."""
        return defer.DeferredList(list(self._running))

    def pending(self) -> int:
        """How many events wait for their timer here (the metrics gauge)."""
        return sum(1 for call in self._calls.values() if call.active())

    def armed(self) -> list[int]:
        return sorted(pid for pid, call in self._calls.items() if call.active())

    def schedule(self, pending_id: int, due_at: float) -> None:
        if self._stopped or pending_id in self._calls:
            return
        delay = max(0.0, due_at - self.clock.seconds())
        self._calls[pending_id] = self.clock.callLater(delay, self._fire, pending_id)

    def _fire(self, pending_id: int) -> None:
        self._calls.pop(pending_id, None)
        self.save(pending_id)

    def save(self, pending_id: int) -> defer.Deferred[int | None]:
        """Save it now if nobody has; fires with the new event id, or None if it was saved already."""
        d = self.store.claim_and_save(pending_id, self.clock.seconds())
        self._running.add(d)

        def done(result: int | None) -> int | None:
            self._running.discard(d)
            return result

        def failed(failure: Failure) -> None:
            log.failure("saving pending event {id} failed; retrying", failure, id=pending_id)
            if not self._stopped:
                self._calls[pending_id] = self.clock.callLater(self.retry_delay, self._fire, pending_id)
            return None

        d.addErrback(failed)
        d.addBoth(done)
        return d

"""The delayed save of directory events, as a service with start() and stop().

A pending event is a database row first and a `clock.callLater` second. At start every unsaved
row is re-armed (an overdue one is saved at once). Saving is a claim in one transaction
(UPDATE ... WHERE saved_at IS NULL), so with several processes on one database each pending
event is saved exactly once, whichever process's timer fires first. A periodic sweep saves overdue
rows that no timer of this process covers (their process died before saving them).
"""

from __future__ import annotations

from twisted.internet import defer, task
from twisted.logger import Logger

from meetsrv.store.meetings.pending_events import PendingEventStore

log = Logger()


class DelayedSaveService:
    retry_delay = 30.0
    sweep_interval = 30.0

    def __init__(self, store: PendingEventStore, clock):
        self.store = store
        self.clock = clock
        self._sweeper = None
        self._calls: dict[int, object] = {}
        self._running: set[defer.Deferred] = set()
        self._stopped = True

    @defer.inlineCallbacks
    def start(self):
        """Re-arm every unsaved pending event; the overdue ones are saved before this fires."""
        self._stopped = False
        rows = yield self.store.unsaved()
        now = self.clock.seconds()
        overdue = []
        for row in rows:
            if row["due_at"] <= now:
                overdue.append(self.save(row["id"]))
            else:
                self.schedule(row["id"], row["due_at"])
        if overdue:
            yield defer.DeferredList(overdue)
        if self.sweep_interval and not self._stopped:
            self._sweeper = task.LoopingCall(self._sweep)
            self._sweeper.clock = self.clock
            self._sweeper.start(self.sweep_interval, now=False).addErrback(
                lambda f: log.failure("pending event sweep stopped", f))

    def _sweep(self):
        """Save overdue rows without a live timer here (another process armed them and died)."""
        def found(rows):
            now = self.clock.seconds()
            saves = []
            for row in rows:
                call = self._calls.get(row["id"])
                if row["due_at"] <= now and (call is None or not call.active()):
                    saves.append(self.save(row["id"]))
            return defer.DeferredList(saves)

        def failed(failure):
            log.failure("pending event sweep failed", failure)

        d = self.store.unsaved().addCallback(found).addErrback(failed)
        self._running.add(d)
        return d.addBoth(lambda r: (self._running.discard(d), r)[1])

    def stop(self):
        """Cancel the timers (the rows stay; the next start re-arms them) and wait for saves under way."""
        self._stopped = True
        if self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()
        self._sweeper = None
        for call in self._calls.values():
            if call.active():
                call.cancel()
        self._calls.clear()
        return defer.DeferredList(list(self._running))

    def idle(self) -> defer.Deferred:
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

    def save(self, pending_id: int) -> defer.Deferred:
        """Save it now if nobody has; fires with the new event id, or None if it was saved already."""
        d = self.store.claim_and_save(pending_id, self.clock.seconds())
        self._running.add(d)

        def done(result):
            self._running.discard(d)
            return result

        def failed(failure):
            log.failure("saving pending event {id} failed; retrying", failure, id=pending_id)
            if not self._stopped:
                self._calls[pending_id] = self.clock.callLater(self.retry_delay, self._fire, pending_id)
            return None

        d.addErrback(failed)
        d.addBoth(done)
        return d

"""The read cache: hot reads (a detail a client asks for again and again) kept in each process,
answered without a query, a thread hop or a Deferred, and dropped as soon as a table they read
is written, in this process at once and in every other one through the bus.

How a kept read stays right:
- `Database.cached` runs a read in one transaction and notes the tables its statements read.
  A read that touched a table outside WATCHED is not kept: writes to those tables (chat
  messages, read marks, credentials, ...) are not announced, so nothing may depend on them.
- Every transaction notes the tables it wrote (db.Txn.written: a DELETE with the tables its
  ON DELETE rules change). When it ends, the WATCHED ones are marked written here and
  published on CHANNEL ("<origin> <table>,<table>"); each other process marks them written when
  the message arrives. The
  transaction's own Deferred fires only once the bus took the message (or refused it), so a
  client that was answered finds every process told.
- Marking a table written bumps a serial: a kept read is valid while no table it read was
  marked after the read began (so a read that raced a write is never served), the bus is up
  (what is published while it is away is lost: nothing is kept, and all is dropped when it is
  back) and it is younger than `ttl` seconds (the bound if a message is lost anyway).
- A mark the bus refused is published again until it is taken, as credential revocations are.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

if TYPE_CHECKING:
    from meetsrv.bus import Bus, Subscription
    from meetsrv.core.clock import Clock, DelayedCall
    from meetsrv.store.db import Database

log = Logger()

CHANNEL = "tables.written"

# The tables a kept read may depend on. Writes to these are announced to every process; writes
# to the others (chat messages and read marks, credentials, counters) are not, so a read of them
# is never kept. The same set in every process of one deployment.
# A statement that writes only what no kept read shows (a chat's read mark) says so with
# db.UNSEEN_BY_READ_CACHE: a kept read must not show such a column.
WATCHED = frozenset({
    "users", "photos", "organizations", "organization_members", "meetings", "meeting_members",
    "meeting_organizations", "join_requests", "chats", "chat_members",
})

_MISS: Any = object()
# a kept read: (value, serial when its read began, tables it read, when kept)
Entry = tuple[Any, int, frozenset[str], float]


class ReadCache:
    MISS = _MISS
    # seconds between attempts to publish marks the bus refused
    retry_interval = 2.0

    def __init__(self, bus: Bus, clock: Clock, size: int = 10_000, ttl: float = 30.0,
                 watched: frozenset[str] = WATCHED):
        self.bus = bus
        self.clock = clock
        self.size = size
        self.ttl = ttl
        self.watched = watched
        # (desc, key) -> Entry
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self.serial = 0
        self._marked: dict[str, int] = {}  # table -> the serial of its last write
        self._floor = 0  # reads begun before this serial are not valid (the bus was away)
        self._unpublished: set[str] = set()
        self._retry: DelayedCall | None = None
        self._subscription: Subscription | None = None
        self._live = False  # nothing is kept until marks from other processes arrive
        # names this process's messages: its own, coming back from the bus, are not marks
        self.origin = uuid.uuid4().hex[:12]

    # -- wiring --------------------------------------------------------------------------------
    def attach(self, db: Database) -> None:
        """Serve `db.cached` reads and hear of every transaction's writes."""
        db.read_cache = self
        db.on_written = self.written

    def start(self) -> defer.Deferred[None]:
        subscription = self._subscription = self.bus.subscribe(CHANNEL, self._on_message)
        self.bus.on_restored(self.clear)

        def live(result: None) -> None:
            self._live = True

        return subscription.ready.addCallback(live)

    def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        self._live = False
        self._entries.clear()

    # -- reads ---------------------------------------------------------------------------------
    def get(self, key: Hashable) -> Any:
        """The kept value, or MISS."""
        entry = self._entries.get(key)
        if entry is None:
            return _MISS
        value, started, tables, kept_at = entry
        if (started < self._floor or kept_at + self.ttl <= self.clock.seconds() or not self.bus.connected
                or any(self._marked.get(t, 0) > started for t in tables)):
            del self._entries[key]
            return _MISS
        return value

    def put(self, key: Hashable, value: Any, started: int, tables: Iterable[str]) -> None:
        """Keep a read begun at serial `started` that read `tables`, unless it cannot be trusted."""
        read = frozenset(tables)
        if (not self._live or not read or not read <= self.watched or started < self._floor
                or not self.bus.connected):
            return
        if any(self._marked.get(t, 0) > started for t in read):
            return  # written while it was read: the value may be the old one
        self._entries[key] = (value, started, read, self.clock.seconds())
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Trust nothing read until now (the bus was away: marks may have been lost)."""
        self.serial += 1
        self._floor = self.serial
        self._entries.clear()
        self._publish_waiting()

    def __len__(self) -> int:
        return len(self._entries)

    # -- writes --------------------------------------------------------------------------------
    def mark(self, tables: Iterable[str]) -> None:
        """These tables were written: reads of them begun until now are not valid."""
        self.serial += 1
        for t in tables:
            self._marked[t] = self.serial

    def written(self, tables: frozenset[str]) -> defer.Deferred[None] | None:
        """A transaction of this process wrote `tables` (db.Database.on_written): marked here,
        then told to every process; the Deferred fires once the bus has the message."""
        watched = tables & self.watched
        if not watched:
            return None
        self.mark(watched)
        self._unpublished |= watched
        return self._publish_waiting()

    def _on_message(self, payload: str) -> None:
        origin, _, tables = payload.partition(" ")
        if origin != self.origin:
            self.mark([t for t in tables.split(",") if t])

    def _publish_waiting(self) -> defer.Deferred[None]:
        if not self._unpublished:
            return defer.succeed(None)
        waiting, self._unpublished = self._unpublished, set()

        def failed(failure: Failure) -> None:
            self._unpublished |= waiting
            log.warn("tables written not published ({error}); trying again", error=failure.getErrorMessage())
            if self._retry is None or not self._retry.active():
                self._retry = self.clock.callLater(self.retry_interval, self._publish_waiting)

        payload = f"{self.origin} {','.join(sorted(waiting))}"
        return defer.maybeDeferred(self.bus.publish, CHANNEL, payload).addErrback(failed)

"""Pending directory events: a row first, saved later by exactly one process.

`claim_and_save` is one transaction: a conditional UPDATE ... WHERE saved_at IS NULL decides
who saves (the loser sees 0 rows changed), then the event row is inserted and linked.

Leases say which process has a timer armed for a row: the process that writes a row holds its
lease and renews it every few seconds; a row whose lease ran out (its process died) is taken
by another process, with a conditional UPDATE too (one taker per lease).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.meetings.directory import insert_event_txn
from meetsrv.store.tables import pending_events

_insert = insert(pending_events).values(
    creator_id=bindparam("creator_id"),
    payload=bindparam("payload"),
    due_at=bindparam("due_at"),
    created=bindparam("created"),
    lease_owner=bindparam("owner"),
    lease_until=bindparam("until"),
).returning(pending_events.c.id)
_lease_free = or_(pending_events.c.lease_until.is_(None), pending_events.c.lease_until < bindparam("now"))
_free = (
    select(pending_events.c.id, pending_events.c.due_at)
    .where(pending_events.c.saved_at.is_(None) & _lease_free)
    .order_by(pending_events.c.due_at, pending_events.c.id)
)
_take = (
    update(pending_events)
    .where((pending_events.c.id == bindparam("pid")) & pending_events.c.saved_at.is_(None) & _lease_free)
    .values(lease_owner=bindparam("owner"), lease_until=bindparam("until"))
)
_renew = (
    update(pending_events)
    .where((pending_events.c.lease_owner == bindparam("owner")) & pending_events.c.saved_at.is_(None))
    .values(lease_until=bindparam("until"))
)
_release = (
    update(pending_events)
    .where((pending_events.c.lease_owner == bindparam("owner")) & pending_events.c.saved_at.is_(None))
    .values(lease_until=None)
)
_unsaved = (
    select(pending_events.c.id, pending_events.c.due_at)
    .where(pending_events.c.saved_at.is_(None))
    .order_by(pending_events.c.due_at, pending_events.c.id)
)
_get = select(pending_events).where(pending_events.c.id == bindparam("id"))
_claim = (
    update(pending_events)
    .where((pending_events.c.id == bindparam("pid")) & pending_events.c.saved_at.is_(None))
    .values(saved_at=bindparam("now"))
)
_set_meeting = (
    update(pending_events).where(pending_events.c.id == bindparam("pid")).values(meeting_id=bindparam("meeting_id"))
)


def take_free_txn(t: Txn, owner: str, now: float, until: float) -> list[Row]:
    """Take the lease of every unsaved row whose lease is free (ran out, released, never held);
    the rows taken, {id, due_at}."""
    taken: list[Row] = []
    for row in t.rows(_free, now=now):
        if t.execute(_take, pid=row["id"], now=now, owner=owner, until=until) == 1:
            taken.append(row)
    return taken


def claim_and_save_txn(t: Txn, pending_id: int, now: float) -> int | None:
    """The new event's id if this call saved the pending event; None if it was saved already."""
    if t.execute(_claim, pid=pending_id, now=now) != 1:
        return None
    row = t.row(_get, id=pending_id)
    assert row is not None  # claimed above
    event = json.loads(row["payload"])
    meeting_id = insert_event_txn(t, now, event)
    t.execute(_set_meeting, pid=pending_id, meeting_id=meeting_id)
    return meeting_id


class PendingEventStore:
    def __init__(self, db: Database):
        self.db = db

    def insert(self, creator_id: int | None, payload: dict[str, Any], due_at: float, now: float,
               owner: str | None = None, until: float | None = None) -> Deferred[int]:
        """A new pending row; `owner` holds its lease until `until`."""
        return self.db.scalar("meetings.pending_events.insert",
            _insert, creator_id=creator_id, payload=json.dumps(payload, ensure_ascii=False),
            due_at=due_at, created=now, owner=owner, until=until,
        )

    def take_free(self, owner: str, now: float, until: float) -> Deferred[list[Row]]:
        return self.db.interact("meetings.pending_events.take_free", take_free_txn, owner, now, until)

    def renew(self, owner: str, until: float) -> Deferred[int]:
        return self.db.execute("meetings.pending_events.renew", _renew, owner=owner, until=until)

    def release(self, owner: str) -> Deferred[int]:
        """Give up this owner's leases (a clean stop): another process takes the rows at once."""
        return self.db.execute("meetings.pending_events.release", _release, owner=owner)

    def get(self, pending_id: int) -> Deferred[Row | None]:
        return self.db.row("meetings.pending_events.get", _get, id=pending_id)

    def unsaved(self) -> Deferred[list[Row]]:
        return self.db.rows("meetings.pending_events.unsaved", _unsaved)

    def claim_and_save(self, pending_id: int, now: float) -> Deferred[int | None]:
        return self.db.interact("meetings.pending_events.claim_and_save", claim_and_save_txn, pending_id, now)

"""Pending directory events: a row first, saved later by exactly one process.

`claim_and_save` is one transaction: a conditional UPDATE ... WHERE saved_at IS NULL decides
who saves (the loser sees 0 rows changed), then the event row is inserted and linked.
"""

from __future__ import annotations

import json

from sqlalchemy import bindparam, insert, select, update

from meetsrv.store.db import Database, Txn
from meetsrv.store.meetings.directory import insert_event_txn
from meetsrv.store.tables import pending_events

_insert = insert(pending_events).values(
    creator_id=bindparam("creator_id"),
    payload=bindparam("payload"),
    due_at=bindparam("due_at"),
    created=bindparam("created"),
).returning(pending_events.c.id)
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


def claim_and_save_txn(t: Txn, pending_id: int, now: float) -> int | None:
    """The new event's id if this call saved the pending event; None if it was saved already."""
    if t.execute(_claim, pid=pending_id, now=now) != 1:
        return None
    row = t.row(_get, id=pending_id)
    event = json.loads(row["payload"])
    meeting_id = insert_event_txn(t, now, event)
    t.execute(_set_meeting, pid=pending_id, meeting_id=meeting_id)
    return meeting_id


class PendingEventStore:
    def __init__(self, db: Database):
        self.db = db

    def insert(self, creator_id: int | None, payload: dict, due_at: float, now: float):
        return self.db.scalar("meetings.pending_events.insert", 
            _insert, creator_id=creator_id, payload=json.dumps(payload, ensure_ascii=False),
            due_at=due_at, created=now,
        )

    def get(self, pending_id: int):
        return self.db.row("meetings.pending_events.get", _get, id=pending_id)

    def unsaved(self):
        return self.db.rows("meetings.pending_events.unsaved", _unsaved)

    def claim_and_save(self, pending_id: int, now: float):
        return self.db.interact("meetings.pending_events.claim_and_save", claim_and_save_txn, pending_id, now)

"""Confirmed markings (campus): who marked whom at which event, and the marker's karma."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.tables import markings, users

_insert = insert(markings).values(
    meeting_id=bindparam("meeting_id"), marker_id=bindparam("marker_id"), marked_id=bindparam("marked_id"),
    created=bindparam("now"),
)
_karma = update(users).where(users.c.id == bindparam("user_id")).values(karma=users.c.karma + bindparam("points"))
_of_meeting = (
    select(markings.c.marker_id, markings.c.marked_id, markings.c.created)
    .where(markings.c.meeting_id == bindparam("meeting_id"))
    .order_by(markings.c.id)
)


def _record_txn(t: Txn, meeting_id: int, marker_id: int, marked_id: int, points: int, now: float) -> None:
    t.execute(_insert, meeting_id=meeting_id, marker_id=marker_id, marked_id=marked_id, now=now)
    if points:
        t.execute(_karma, user_id=marker_id, points=points)


class MarkingStore:
    def __init__(self, db: Database):
        self.db = db

    def record(self, meeting_id: int, marker_id: int, marked_id: int, points: int, now: float) -> Deferred[None]:
        """Store the marking and give the marker `points` karma, in one transaction."""
        return self.db.interact("meetings.markings.record", _record_txn, meeting_id, marker_id, marked_id, points, now)

    def of_meeting(self, meeting_id: int) -> Deferred[list[Row]]:
        return self.db.rows("meetings.markings.of_meeting", _of_meeting, meeting_id=meeting_id)

"""Campus events: rows of `meetings` with kind "campus" (uuid, title = name, starts_at =
time_from, ends_at = time_to, creator_id) and their members in `meeting_members`."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, delete, exists, insert, select
from twisted.internet.defer import Deferred

from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.tables import meeting_members, meetings

KIND = "campus"

_columns = (meetings.c.id, meetings.c.uuid, meetings.c.title, meetings.c.starts_at, meetings.c.ends_at,
            meetings.c.creator_id)
_by_uuid = select(*_columns).where((meetings.c.kind == KIND) & (meetings.c.uuid == bindparam("uuid")))
_all = select(*_columns).where(meetings.c.kind == KIND).order_by(meetings.c.id)
_created = (
    select(*_columns)
    .where((meetings.c.kind == KIND) & (meetings.c.creator_id == bindparam("user_id")))
    .order_by(meetings.c.id)
)
_joined = (
    select(*_columns)
    .join(meeting_members, meeting_members.c.meeting_id == meetings.c.id)
    .where((meetings.c.kind == KIND) & (meeting_members.c.user_id == bindparam("user_id")))
    .order_by(meeting_members.c.meeting_id)  # = meetings.id, as ix_meeting_members_user_meeting has it
)
_insert = (
    insert(meetings)
    .values(kind=KIND, uuid=bindparam("uuid"), title=bindparam("title"), starts_at=bindparam("starts_at"),
            ends_at=bindparam("ends_at"), creator_id=bindparam("creator_id"), created=bindparam("now"),
            modified=bindparam("now"))
    .returning(meetings.c.id)
)
_is_member = select(
    exists().where(and_(meeting_members.c.meeting_id == bindparam("meeting_id"),
                        meeting_members.c.user_id == bindparam("user_id")))
)
_add_member = insert(meeting_members).values(
    meeting_id=bindparam("meeting_id"), user_id=bindparam("user_id"), joined=bindparam("now")
)
_remove_member = delete(meeting_members).where(
    (meeting_members.c.meeting_id == bindparam("meeting_id")) & (meeting_members.c.user_id == bindparam("user_id"))
)
_delete = delete(meetings).where((meetings.c.id == bindparam("id")) & (meetings.c.kind == KIND))


def _create_txn(t: Txn, uuid: str, title: str, starts_at: float, ends_at: float, creator_id: int, now: float) -> int:
    meeting_id: int = t.scalar(_insert, uuid=uuid, title=title, starts_at=starts_at, ends_at=ends_at,
                          creator_id=creator_id, now=now)
    t.execute(_add_member, meeting_id=meeting_id, user_id=creator_id, now=now)
    return meeting_id


def _join_txn(t: Txn, meeting_id: int, user_id: int, now: float) -> bool:
    if t.scalar(_is_member, meeting_id=meeting_id, user_id=user_id):
        return False
    t.execute(_add_member, meeting_id=meeting_id, user_id=user_id, now=now)
    return True


class CampusEventStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, uuid: str, title: str, starts_at: float, ends_at: float, creator_id: int,
               now: float) -> Deferred[int]:
        """Insert the event with its creator as first member; a duplicate name raises the
        Conflict (unique index ux_meetings_campus_title)."""
        return self.db.interact("meetings.campus.create", _create_txn, uuid, title, starts_at, ends_at, creator_id, now)

    def by_uuid(self, uuid: str) -> Deferred[Row | None]:
        return self.db.row("meetings.campus.by_uuid", _by_uuid, uuid=uuid)

    def all(self) -> Deferred[list[Row]]:
        return self.db.rows("meetings.campus.all", _all)

    def created_by(self, user_id: int) -> Deferred[list[Row]]:
        return self.db.rows("meetings.campus.created_by", _created, user_id=user_id)

    def joined_by(self, user_id: int) -> Deferred[list[Row]]:
        return self.db.rows("meetings.campus.joined_by", _joined, user_id=user_id)

    def join(self, meeting_id: int, user_id: int, now: float) -> Deferred[bool]:
        """True if added, False if already a member (one transaction, so a race adds once)."""
        return self.db.interact("meetings.campus.join", _join_txn, meeting_id, user_id, now)

    def leave(self, meeting_id: int, user_id: int) -> Deferred[bool]:
        """True if the user was a member."""
        return self.db.execute("meetings.campus.leave", _remove_member, meeting_id=meeting_id, user_id=user_id).addCallback(lambda n: n > 0)

    def delete(self, meeting_id: int) -> Deferred[int]:
        return self.db.execute("meetings.campus.delete", _delete, id=meeting_id)

"""Phone-door meetings: a meeting (kind "phone") and its members, one of them the king."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, delete, exists, insert, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.accounts.phone import pass_crown_txn
from meetsrv.store.db import Database, NowOrLater, Row, Txn
from meetsrv.store.meetings.records import MEETING_COLUMNS, PhoneMeeting
from meetsrv.store.tables import blocks, meeting_members, meetings, users

KIND = "phone"

_insert_meeting = (
    insert(meetings)
    .values(
        kind=bindparam("kind"), title=bindparam("title"), description=bindparam("description"),
        image=bindparam("image"), starts_at=bindparam("starts_at"), creator_id=bindparam("creator_id"),
        created=bindparam("created"), modified=bindparam("modified"),
    )
    .returning(meetings.c.id)
)
_add_member = insert(meeting_members).values(
    meeting_id=bindparam("meeting_id"), user_id=bindparam("user_id"), king=bindparam("king"),
    joined=bindparam("joined"),
)
_meeting = select(*MEETING_COLUMNS).where((meetings.c.id == bindparam("id")) & (meetings.c.kind == KIND))
_members = (
    select(meeting_members.c.user_id, meeting_members.c.king)
    .where(meeting_members.c.meeting_id == bindparam("meeting_id"))
    .order_by(meeting_members.c.user_id)
)
_member = select(meeting_members.c.king).where(
    (meeting_members.c.meeting_id == bindparam("meeting_id")) & (meeting_members.c.user_id == bindparam("user_id"))
)
_remove_member = delete(meeting_members).where(
    (meeting_members.c.meeting_id == bindparam("meeting_id")) & (meeting_members.c.user_id == bindparam("user_id"))
)
_user_exists = select(exists().where(users.c.id == bindparam("id")))
_has_blocked = select(exists().where(
    (blocks.c.user_id == bindparam("user_id")) & (blocks.c.blocked_id == bindparam("blocked_id"))
))
_complete = (
    update(meetings).where(meetings.c.id == bindparam("m_id"))
    .values(completed=True, modified=bindparam("m_modified"))
)
_mine = (
    select(meetings)
    .join(meeting_members, meeting_members.c.meeting_id == meetings.c.id)
    .where((meeting_members.c.user_id == bindparam("user_id")) & (meetings.c.kind == KIND))
    # = meetings.id, in the order of ix_meeting_members_user_meeting: the user's rows are read,
    # not every phone meeting in id order
    .order_by(meeting_members.c.meeting_id)
)
_mine_open = _mine.where(meetings.c.completed == False)  # noqa: E712


def _with_members(t: Txn, meeting: Row | None) -> PhoneMeeting | None:
    if meeting is None:
        return None
    members = t.rows(_members, meeting_id=meeting["id"])
    kings = [m["user_id"] for m in members if m["king"]]
    return PhoneMeeting(**meeting, users=tuple(m["user_id"] for m in members), king=kings[0] if kings else None)


def create_txn(t: Txn, creator: int, user_ids: Iterable[int], now: float, title: str, description: str | None,
               image: str | None, starts_at: float | None) -> PhoneMeeting | None:
    """Members: the creator (king) and those of user_ids who exist and have not blocked them."""
    meeting_id = t.scalar(
        _insert_meeting, kind=KIND, title=title, description=description, image=image,
        starts_at=starts_at, creator_id=creator, created=now, modified=now,
    )
    t.execute(_add_member, meeting_id=meeting_id, user_id=creator, king=True, joined=now)
    for user_id in sorted(set(user_ids) - {creator}):
        if not t.scalar(_user_exists, id=user_id):
            continue
        if t.scalar(_has_blocked, user_id=user_id, blocked_id=creator):
            continue
        t.execute(_add_member, meeting_id=meeting_id, user_id=user_id, king=False, joined=now)
    return _with_members(t, t.row(_meeting, id=meeting_id))


def invite_txn(t: Txn, meeting_id: int, inviter: int, user_id: int, now: float) -> PhoneMeeting | None:
    """Add user_id unless they are a member already or have blocked the inviter."""
    if t.row(_member, meeting_id=meeting_id, user_id=user_id) is None and not t.scalar(
        _has_blocked, user_id=user_id, blocked_id=inviter
    ):
        t.execute(_add_member, meeting_id=meeting_id, user_id=user_id, king=False, joined=now)
    return _with_members(t, t.row(_meeting, id=meeting_id))


def remove_txn(t: Txn, meeting_id: int, user_id: int) -> PhoneMeeting | None:
    """Remove a member; a king's crown passes to a random remaining member."""
    row = t.row(_member, meeting_id=meeting_id, user_id=user_id)
    if row is not None:
        if row["king"]:
            pass_crown_txn(t, meeting_id, user_id)
        t.execute(_remove_member, meeting_id=meeting_id, user_id=user_id)
    return _with_members(t, t.row(_meeting, id=meeting_id))


def complete_txn(t: Txn, meeting_id: int, now: float) -> PhoneMeeting | None:
    t.execute(_complete, m_id=meeting_id, m_modified=now)
    return _with_members(t, t.row(_meeting, id=meeting_id))


def get_txn(t: Txn, meeting_id: int) -> PhoneMeeting | None:
    return _with_members(t, t.row(_meeting, id=meeting_id))


def list_txn(t: Txn, user_id: int, include_completed: bool) -> list[Row]:
    """The user's meetings with their members, in two queries."""
    rows = t.rows(_mine if include_completed else _mine_open, user_id=user_id)
    if not rows:
        return rows
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        r["users"], r["king"] = [], None
    members = (
        select(meeting_members.c.meeting_id, meeting_members.c.user_id, meeting_members.c.king)
        .where(meeting_members.c.meeting_id.in_(sorted(by_id)))
        .order_by(meeting_members.c.meeting_id, meeting_members.c.user_id)
    )
    for m in t.rows(members, dynamic=True):
        meeting = by_id[m["meeting_id"]]
        meeting["users"].append(m["user_id"])
        if m["king"] and meeting["king"] is None:
            meeting["king"] = m["user_id"]
    return rows


class PhoneMeetingStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, creator: int, user_ids: Iterable[int], now: float, title: str, description: str | None,
               image: str | None, starts_at: float | None) -> Deferred[PhoneMeeting | None]:
        return self.db.interact("meetings.phone.create", create_txn, creator, list(user_ids), now, title, description, image, starts_at)

    def get(self, meeting_id: int) -> Deferred[PhoneMeeting | None]:
        return self.db.interact("meetings.phone.get", get_txn, meeting_id)

    def get_cached(self, meeting_id: int) -> NowOrLater[PhoneMeeting | None]:
        """get_txn's value: from the read cache when kept (at once, shared: it is immutable),
        else a Deferred. For answers that only show the meeting."""
        return self.db.cached("meetings.phone.get", meeting_id, get_txn, meeting_id)

    def list_of(self, user_id: int, include_completed: bool) -> Deferred[list[Row]]:
        return self.db.interact("meetings.phone.list_of", list_txn, user_id, include_completed)

    def invite(self, meeting_id: int, inviter: int, user_id: int, now: float) -> Deferred[PhoneMeeting | None]:
        return self.db.interact("meetings.phone.invite", invite_txn, meeting_id, inviter, user_id, now)

    def remove(self, meeting_id: int, user_id: int) -> Deferred[PhoneMeeting | None]:
        return self.db.interact("meetings.phone.remove", remove_txn, meeting_id, user_id)

    def complete(self, meeting_id: int, now: float) -> Deferred[PhoneMeeting | None]:
        return self.db.interact("meetings.phone.complete", complete_txn, meeting_id, now)

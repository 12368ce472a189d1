"""Join requests ("confirms") on social meetings, and the meeting chats approval makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.chats.chats import add_member_txn, create_chat_txn
from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.tables import chat_members, chats, join_requests, meetings

KIND = "social"
CHAT_KIND = "meeting"

_meeting = select(meetings.c.id, meetings.c.creator_id, meetings.c.group_type, meetings.c.title).where(
    (meetings.c.id == bindparam("id")) & (meetings.c.kind == KIND)
)
_meeting_locked = _meeting.with_for_update()
_existing = select(join_requests.c.id).where(
    (join_requests.c.meeting_id == bindparam("meeting_id")) & (join_requests.c.user_id == bindparam("user_id"))
)
_insert = (
    insert(join_requests)
    .values(meeting_id=bindparam("meeting_id"), user_id=bindparam("user_id"), created=bindparam("now"),
            modified=bindparam("now"))
    .returning(join_requests.c.id)
)
_get = select(join_requests).where(join_requests.c.id == bindparam("id"))
_pending_for_owner = (
    select(join_requests)
    .join(meetings, meetings.c.id == join_requests.c.meeting_id)
    .where(
        (meetings.c.creator_id == bindparam("owner_id"))
        & (meetings.c.kind == KIND)
        & (join_requests.c.approved == False)  # noqa: E712
        & (join_requests.c.rejected == False)  # noqa: E712
    )
    .order_by(join_requests.c.id)
)
_unread_count = (
    select(func.count())
    .select_from(join_requests.join(meetings, meetings.c.id == join_requests.c.meeting_id))
    .where(
        (meetings.c.creator_id == bindparam("owner_id"))
        & (meetings.c.kind == KIND)
        & (join_requests.c.read == False)  # noqa: E712
    )
)
_meeting_chats = (
    select(chats.c.id)
    .where((chats.c.meeting_id == bindparam("meeting_id")) & (chats.c.kind == CHAT_KIND))
    .order_by(chats.c.id)
)
_member_meeting_chat = (
    select(chats.c.id)
    .join(chat_members, chat_members.c.chat_id == chats.c.id)
    .where(
        (chats.c.meeting_id == bindparam("meeting_id"))
        & (chats.c.kind == CHAT_KIND)
        & (chat_members.c.user_id == bindparam("user_id"))
    )
)


# (the request as it was, as it would be) -> why not, or None
RequestCheck = Callable[[Row, Row], str | None]


def create_txn(t: Txn, meeting_id: int, user_id: int, now: float) -> str:
    """"ok", or why not, checked in upstream's order: "missing", "duplicate", "own"."""
    meeting = t.row(_meeting, id=meeting_id)
    if meeting is None:
        return "missing"
    if t.scalar(_existing, meeting_id=meeting_id, user_id=user_id) is not None:
        return "duplicate"
    if meeting["creator_id"] == user_id:
        return "own"
    t.scalar(_insert, meeting_id=meeting_id, user_id=user_id, now=now)
    return "ok"


def pending_for_owner_txn(t: Txn, owner_id: int) -> list[Row]:
    """The open requests on the owner's meetings; they are marked read (upstream)."""
    rows = t.rows(_pending_for_owner, owner_id=owner_id)
    ids = [r["id"] for r in rows]
    if ids:
        t.execute(update(join_requests).where(join_requests.c.id.in_(ids)).values(read=True), dynamic=True)
    return rows


def _ensure_chat(t: Txn, meeting: Row, user_id: int, slug: str, now: float) -> int:
    """The approved user's chat for the meeting: joined (group), found, or made."""
    found: int | None = t.scalar(_member_meeting_chat, meeting_id=meeting["id"], user_id=user_id)
    if found is not None:
        return found
    if meeting["group_type"] == 1:
        existing: int | None = t.scalar(_meeting_chats, meeting_id=meeting["id"])
        if existing is not None:
            add_member_txn(t, existing, user_id, now)
            return existing
    members = [m for m in (meeting["creator_id"], user_id) if m is not None]
    return create_chat_txn(
        t, CHAT_KIND, members, now, slug=slug, title=(meeting["title"] or "")[:255],
        owner_id=meeting["creator_id"], meeting_id=meeting["id"],
    )


def update_txn(t: Txn, request_id: int, owner_id: int, changes: dict[str, Any], check: RequestCheck,
               make_slug: Callable[[int, int], str], now: float) -> tuple[Any, ...]:
    """Apply changes (approved/rejected/read) to a request on one of owner_id's meetings.

    Returns ("forbidden", None) when it is not the owner's (or does not exist), ("invalid", msg)
    when check(old_row, new_row) objects, else ("ok", row, chat_id or None)."""
    row = t.row(_get, id=request_id)
    if row is None:
        return ("forbidden", None)
    # lock the meeting: approvals of one meeting make or join its chat one at a time
    meeting = t.row(_meeting_locked, id=row["meeting_id"])
    if meeting is None or meeting["creator_id"] != owner_id:
        return ("forbidden", None)
    row = t.row(_get, id=request_id)
    assert row is not None  # read above, and the meeting's lock keeps it
    new = dict(row, **changes)
    problem = check(row, new)
    if problem:
        return ("invalid", problem)
    if changes:
        t.execute(
            update(join_requests).where(join_requests.c.id == request_id).values(modified=now, **changes),
            dynamic=True,
        )
    chat_id = None
    if new["approved"]:
        chat_id = _ensure_chat(t, meeting, new["user_id"], make_slug(request_id, meeting["id"]), now)
    return ("ok", t.row(_get, id=request_id), chat_id)


class JoinRequestStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, meeting_id: int, user_id: int, now: float) -> Deferred[str]:
        return self.db.interact("meetings.join_requests.create", create_txn, meeting_id, user_id, now)

    def get(self, request_id: int) -> Deferred[Row | None]:
        return self.db.row("meetings.join_requests.get", _get, id=request_id)

    def pending_for_owner(self, owner_id: int) -> Deferred[list[Row]]:
        return self.db.interact("meetings.join_requests.pending_for_owner", pending_for_owner_txn, owner_id)

    def unread_count(self, owner_id: int) -> Deferred[int]:
        return self.db.scalar("meetings.join_requests.unread_count", _unread_count, owner_id=owner_id)

    def update(self, request_id: int, owner_id: int, changes: dict[str, Any], check: RequestCheck,
               make_slug: Callable[[int, int], str], now: float) -> Deferred[tuple[Any, ...]]:
        return self.db.interact("meetings.join_requests.update", update_txn, request_id, owner_id, changes, check, make_slug, now)

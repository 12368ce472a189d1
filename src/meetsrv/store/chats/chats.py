"""Chats, their members, their messages and read state (rooms, meeting chats, the lobby).

Reads return typed records (Chat, Message); doors shape them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from sqlalchemy import Column, Select, Table, and_, bindparam, case, exists, func, insert, or_, select, true, update
from twisted.internet import defer

from meetsrv.store.counts import count_txn, lobby_messages
from meetsrv.store.db import UNSEEN_BY_READ_CACHE, Database, NowOrLater, Row, Txn, prepared_as
from meetsrv.store.tables import chat_members, chats, messages, users


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    kind: str  # "room" (rooms door), "meeting" (social), "lobby" (directory)
    slug: str | None
    title: str
    owner_id: int | None
    meeting_id: int | None
    member_key: str | None
    created: float


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    chat_id: int
    user_id: int | None  # None once the author's account is gone
    text: str
    created: float
    is_read: bool
    is_received: bool
    client_id: str | None = None  # the sender's own id for it, when the sender gave one


R = TypeVar("R")


def _columns(table: Table, record: type[Any]) -> list[Column[Any]]:
    return [table.c[f.name] for f in fields(record)]


def _record(record: type[R], row: Row | None) -> R | None:
    return None if row is None else record(**row)


CHAT_COLUMNS = _columns(chats, Chat)
MESSAGE_COLUMNS = _columns(messages, Message)

_chat_by_slug = select(*CHAT_COLUMNS).where(chats.c.slug == bindparam("slug"))
_chat_by_key = select(chats.c.id).where(
    (chats.c.kind == bindparam("kind")) & (chats.c.member_key == bindparam("member_key"))
)
_is_member = select(
    exists().where((chat_members.c.chat_id == bindparam("chat_id")) & (chat_members.c.user_id == bindparam("user_id")))
)
# A chat with whether the user is one of its members: the one membership read.
_membership = (
    exists()
    .where((chat_members.c.chat_id == chats.c.id) & (chat_members.c.user_id == bindparam("user_id")))
    .correlate(chats)
    .label("is_member")
)
_chat_for_user = select(*CHAT_COLUMNS, _membership).where(chats.c.id == bindparam("chat_id"))
_chat_for_user_by_slug = select(*CHAT_COLUMNS, _membership).where(chats.c.slug == bindparam("slug"))
_members = (
    select(users.c.id, users.c.username, users.c.name, users.c.email)
    .join(chat_members, chat_members.c.user_id == users.c.id)
    .where(chat_members.c.chat_id == bindparam("chat_id"))
    .order_by(chat_members.c.user_id)  # = users.id, in the index's order
)
_add_member = insert(chat_members).values(
    chat_id=bindparam("chat_id"), user_id=bindparam("user_id"), joined=bindparam("joined")
)
# Posting holds the chat's row lock from before the insert to the commit, so a chat's messages
# get their ids (and commit) one after another: ids increase in the order messages are stored,
# and each message knows the one before it (the link receivers order a chat's frames by): the
# chat's last_message_id, read under the lock, which reads the newest committed version of the
# row (a max over messages would read the snapshot taken before the wait for the lock).
# Storing a message then moves last_message_id to it and, when the poster had read the chat up
# to the message before it (nothing lies between: a chat's posts take turns), the poster's last
# read too, so that the unread counts (messages of others after the last read) count from
# there, not over everything the user posted since they last read. Neither column is one a
# kept read shows: these writes are not announced to the read caches.
# SQLite: _lock_chat, then _insert_message, whose trigger messages_posted (migration 0005)
# moves both (each statement is a hand-off of the GIL between the reactor and the database
# thread). PostgreSQL: all in _posted, one statement, one round trip.
_lock_chat = (select(func.coalesce(chats.c.last_message_id, 0))
              .where(chats.c.id == bindparam("chat_id")).with_for_update(key_share=True))
_insert_message = (
    insert(messages)
    .values(chat_id=bindparam("chat_id"), user_id=bindparam("user_id"), text=bindparam("text"),
            created=bindparam("created"), client_id=bindparam("client_id"))
    .returning(messages.c.id)
)
_newest_id = select(func.max(messages.c.id)).where(messages.c.chat_id == bindparam("chat_id"))


def _posted_in_one_statement() -> Select[tuple[int, int]]:
    """PostgreSQL: lock and link, insert, move the link, the poster's read mark, as one
    statement. The locking read returns the row's newest committed version, and the updates of
    the same statement that follow it find that version too (READ COMMITTED re-reads a row that
    changed while it waited)."""
    locked = (select(chats.c.id, func.coalesce(chats.c.last_message_id, 0).label("prev_id"))
              .where(chats.c.id == bindparam("chat_id")).with_for_update(key_share=True).cte("locked"))
    stored = (insert(messages)
              .from_select(["chat_id", "user_id", "text", "created", "client_id"],
                           select(locked.c.id, bindparam("user_id"), bindparam("text"), bindparam("created"),
                                  bindparam("client_id")))
              .returning(messages.c.id).cte("stored"))
    new_id = select(stored.c.id).scalar_subquery()
    moved = (update(chats).where(chats.c.id == bindparam("chat_id")).values(last_message_id=new_id)
             .cte("moved"))
    caught_up = (update(chat_members)
                 .where((chat_members.c.chat_id == bindparam("chat_id"))
                        & (chat_members.c.user_id == bindparam("user_id"))
                        & (func.coalesce(chat_members.c.last_read_message_id, 0)
                           >= select(locked.c.prev_id).scalar_subquery()))
                 .values(last_read_message_id=new_id)
                 .cte("caught_up"))
    return (select(stored.c.id, locked.c.prev_id).select_from(stored.join(locked, true()))
            .add_cte(moved, caught_up))


# planned once per connection: planning the four parts cost more than running them
_posted = _posted_in_one_statement().execution_options(**prepared_as("chats_post"))
_previous_id = select(func.max(messages.c.id)).where(
    (messages.c.chat_id == bindparam("chat_id")) & (messages.c.id < bindparam("message_id"))
)
_by_client_id = select(*MESSAGE_COLUMNS).where(
    (messages.c.chat_id == bindparam("chat_id")) & (messages.c.user_id == bindparam("user_id"))
    & (messages.c.client_id == bindparam("client_id"))
)

# -- the history reader: one query per direction; the lobby's page is the newest one with an offset
_newest = (
    select(*MESSAGE_COLUMNS)
    .where(messages.c.chat_id == bindparam("chat_id"))
    .order_by(messages.c.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_newest_before = (
    select(*MESSAGE_COLUMNS)
    .where((messages.c.chat_id == bindparam("chat_id")) & (messages.c.id < bindparam("before")))
    .order_by(messages.c.id.desc())
    .limit(bindparam("limit"))
)
_oldest_after = (
    select(*MESSAGE_COLUMNS)
    .where((messages.c.chat_id == bindparam("chat_id")) & (messages.c.id > bindparam("after")))
    .order_by(messages.c.id)
    .limit(bindparam("limit"))
)
_count = select(func.count()).select_from(messages).where(messages.c.chat_id == bindparam("chat_id"))

# -- read state: a member's last read message only moves forward
_in_chat = select(
    exists().where((messages.c.id == bindparam("message_id")) & (messages.c.chat_id == bindparam("chat_id")))
)
_mark_read = (
    update(chat_members)
    .where(
        (chat_members.c.chat_id == bindparam("chat_id"))
        & (chat_members.c.user_id == bindparam("user_id"))
        & or_(chat_members.c.last_read_message_id.is_(None),
              chat_members.c.last_read_message_id < bindparam("message_id"))
    )
    .values(last_read_message_id=bindparam("message_id"))
    # a read mark changes nothing a kept read shows: not announced to the read caches
    .execution_options(**UNSEEN_BY_READ_CACHE)
)
# {chat id: messages of others after the user's last read} for the user's chats of one kind
_unread = (
    select(chat_members.c.chat_id, func.count(messages.c.id).label("unread"))
    .select_from(
        chat_members.join(chats, chats.c.id == chat_members.c.chat_id).join(
            messages,
            and_(
                messages.c.chat_id == chat_members.c.chat_id,
                messages.c.id > func.coalesce(chat_members.c.last_read_message_id, 0),
                or_(messages.c.user_id.is_(None), messages.c.user_id != chat_members.c.user_id),
            ),
        )
    )
    .where((chat_members.c.user_id == bindparam("user_id")) & (chats.c.kind == bindparam("kind"))
           # a chat read up to its newest message has nothing to count
           & (chats.c.last_message_id > func.coalesce(chat_members.c.last_read_message_id, 0)))
    .group_by(chat_members.c.chat_id)
)


class ChatGone(Exception):
    """The chat a message was posted to no longer exists."""


# The rooms list: every chat of one kind that a user is in, with all its members and the user's
# unread count, in one statement, read in index order: the user's memberships newest chat first
# (ix_chat_members_user, unique, scanned backwards), each chat's members by id (the unique
# (chat_id, user_id)). The unread count is counted once per chat, on the user's own member row
# (CASE runs its subquery only there), from the chat's messages after the user's last read, and
# only when the chat's newest message is after it.
_mine = chat_members.alias("mine")
_unread_of_mine = (
    select(func.count(messages.c.id))
    .where(
        (messages.c.chat_id == _mine.c.chat_id)
        & (messages.c.id > func.coalesce(_mine.c.last_read_message_id, 0))
        & or_(messages.c.user_id.is_(None), messages.c.user_id != _mine.c.user_id)
    )
    .correlate(_mine)
    .scalar_subquery()
)
# columns in the order chats_of_with_members unpacks them
_user_chats_with_members = (
    select(_mine.c.chat_id, users.c.id, users.c.username, users.c.name, users.c.email,
           case((chat_members.c.user_id != _mine.c.user_id, None),
                # read up to the chat's newest message: nothing to count
                (func.coalesce(chats.c.last_message_id, 0) <= func.coalesce(_mine.c.last_read_message_id, 0), 0),
                else_=_unread_of_mine).label("unread"))
    .select_from(
        _mine.join(chats, chats.c.id == _mine.c.chat_id)
        .join(chat_members, chat_members.c.chat_id == _mine.c.chat_id)
        .join(users, users.c.id == chat_members.c.user_id)
    )
    .where((_mine.c.user_id == bindparam("user_id")) & (chats.c.kind == bindparam("kind")))
    .order_by(_mine.c.chat_id.desc(), chat_members.c.user_id)
)


def create_chat_txn(t: Txn, /, kind: str, member_ids: Iterable[int], now: float, **values: Any) -> int:
    stmt = insert(chats).values(kind=kind, created=now, **values).returning(chats.c.id)
    chat_id: int = t.scalar(stmt, dynamic=True)
    for user_id in member_ids:
        t.execute(_add_member, chat_id=chat_id, user_id=user_id, joined=now)
    return chat_id


def add_member_txn(t: Txn, chat_id: int, user_id: int, now: float) -> bool:
    if t.scalar(_is_member, chat_id=chat_id, user_id=user_id):
        return False
    t.execute(_add_member, chat_id=chat_id, user_id=user_id, joined=now)
    return True


def _chat_and_membership(row: Row | None) -> tuple[Chat | None, bool]:
    if row is None:
        return None, False
    is_member = bool(row.pop("is_member"))
    return Chat(**row), is_member


def _mark_read_txn(t: Txn, chat_id: int, user_id: int, message_id: int) -> None:
    t.execute(_mark_read, chat_id=chat_id, user_id=user_id, message_id=message_id)


def _member_chat_txn(t: Txn, chat_id: int, user_id: int) -> tuple[Chat | None, list[Row]]:
    chat, is_member = _chat_and_membership(t.row(_chat_for_user, chat_id=chat_id, user_id=user_id))
    if not is_member:
        return None, []
    return chat, t.rows(_members, chat_id=chat_id)


class ChatStore:
    def __init__(self, db: Database):
        self.db = db

    # -- chats -----------------------------------------------------------------------------
    def get_by_slug(self, slug: str) -> defer.Deferred[Chat | None]:
        return self.db.row("chats.chats.get_by_slug", _chat_by_slug, slug=slug).addCallback(lambda r: _record(Chat, r))

    def by_member_key(self, kind: str, member_key: str) -> defer.Deferred[int | None]:
        return self.db.scalar("chats.chats.by_member_key", _chat_by_key, kind=kind, member_key=member_key)

    def create(self, kind: str, member_ids: Iterable[int], now: float, **values: Any) -> defer.Deferred[int]:
        return self.db.interact("chats.chats.create", create_chat_txn, kind, member_ids, now, **values)

    def chat_for_user(self, user_id: int, chat_id: int | None = None,
                      slug: str | None = None) -> defer.Deferred[tuple[Chat | None, bool]]:
        """(Chat or None, whether user_id is one of its members), by id or by slug."""
        if slug is not None:
            d = self.db.row("chats.chats.chat_for_user", _chat_for_user_by_slug, slug=slug, user_id=user_id)
        else:
            d = self.db.row("chats.chats.chat_for_user", _chat_for_user, chat_id=chat_id, user_id=user_id)
        return d.addCallback(_chat_and_membership)

    def chats_of_with_members(self, user_id: int, kind: str) -> defer.Deferred[list[tuple[int, list[Row], int]]]:
        """[(chat id, [member rows ordered by id], unread)] for user_id's chats of `kind`, newest
        chat first, in one precompiled statement."""

        def group(rows: list[tuple[Any, ...]]) -> list[tuple[int, list[Row], int]]:
            # the rows come chat by chat (ordered by chat id); one pass, a dict per member
            found: list[tuple[int, list[Row], int]] = []
            chat = unread = 0
            members: list[Row] = []
            for chat_id, member_id, username, name, email, count in rows:
                if chat_id != chat:
                    if members:
                        found.append((chat, members, unread))
                    chat, members, unread = chat_id, [], 0
                members.append({"id": member_id, "username": username, "name": name, "email": email})
                if count is not None:  # the user's own row
                    unread = count
            if members:
                found.append((chat, members, unread))
            return found

        d = self.db.tuples("chats.chats.chats_of_with_members", _user_chats_with_members,
                           user_id=user_id, kind=kind)
        return d.addCallback(group)

    def member_chat_with_members(self, chat_id: int, user_id: int) -> defer.Deferred[tuple[Chat | None, list[Row]]]:
        """(Chat, members ordered by id) if user_id is a member of chat_id, else (None, []);
        one transaction, one thread hop."""
        return self.db.interact("chats.chats.member_chat_with_members", _member_chat_txn, chat_id, user_id)

    def member_chat_with_members_kept(self, chat_id: int, user_id: int) -> NowOrLater[tuple[Chat | None, list[Row]]]:
        """As member_chat_with_members, from the read cache when kept (at once, shared: not to
        be changed), else a Deferred."""
        return self.db.cached("chats.chats.member_chat_with_members", (chat_id, user_id), _member_chat_txn,
                              chat_id, user_id)

    # -- messages --------------------------------------------------------------------------
    def insert_message(self, chat_id: int, user_id: int, text: str, now: float,
                       client_id: str | None = None) -> defer.Deferred[tuple[int, int]]:
        """(message id, id of the chat's message before it or 0). Conflict when user_id already
        stored a message with this client_id in the chat; ChatGone when the chat is gone."""
        params: dict[str, Any] = dict(chat_id=chat_id, user_id=user_id, text=text, created=now, client_id=client_id)
        if self.db.name == "postgresql":
            def posted(row: Row | None) -> tuple[int, int]:
                if row is None:
                    raise ChatGone(chat_id)
                return row["id"], row["prev_id"]

            return self.db.row("chats.chats.insert_message", _posted, **params).addCallback(posted)

        def txn(t: Txn) -> tuple[int, int]:
            prev_id = t.scalar(_lock_chat, chat_id=chat_id)
            if prev_id is None:
                raise ChatGone(chat_id)
            message_id: int = t.scalar(_insert_message, **params)
            return message_id, prev_id

        return self.db.interact("chats.chats.insert_message", txn)

    def by_client_id(self, chat_id: int, user_id: int, client_id: str | None) -> defer.Deferred[tuple[Message, int] | None]:
        """(the Message user_id stored in chat_id under client_id, the id of the chat's message
        before it or 0), or None."""

        def txn(t: Txn) -> tuple[Message, int] | None:
            row = t.row(_by_client_id, chat_id=chat_id, user_id=user_id, client_id=client_id)
            if row is None:
                return None
            return Message(**row), t.scalar(_previous_id, chat_id=chat_id, message_id=row["id"]) or 0

        return self.db.interact("chats.chats.by_client_id", txn)

    def newest_id(self, chat_id: int) -> defer.Deferred[int]:
        """The id of the chat's newest message, 0 when it has none."""
        return self.db.scalar("chats.chats.newest_id", _newest_id, chat_id=chat_id).addCallback(lambda v: int(v or 0))

    def history(self, chat_id: int, limit: int, before: int | None = None, after: int | None = None,
                reader: int | None = None) -> defer.Deferred[list[Message]]:
        """Messages oldest first: the `limit` newest (before message id `before`), or the `limit`
        oldest after message id `after`. With `reader`, reading the newest page moves that
        member's last read to its newest message (same transaction)."""

        def txn(t: Txn) -> list[Message]:
            if after is not None:
                rows = t.rows(_oldest_after, chat_id=chat_id, after=after, limit=limit)
            elif before is not None:
                rows = t.rows(_newest_before, chat_id=chat_id, before=before, limit=limit)[::-1]
            else:
                rows = t.rows(_newest, chat_id=chat_id, limit=limit, offset=0)[::-1]
                if reader is not None and rows:
                    _mark_read_txn(t, chat_id, reader, rows[-1]["id"])
            return [Message(**r) for r in rows]

        return self.db.interact("chats.chats.history", txn)

    def page(self, chat_id: int, limit: int, offset: int) -> defer.Deferred[tuple[int, list[Message]]]:
        """(count, messages newest first from `offset`): the newest-first reader with an offset;
        a lobby chat's count is the kept one (list_counts), another chat's is counted."""

        def txn(t: Txn) -> tuple[int, list[Message]]:
            rows = t.rows(_newest, chat_id=chat_id, limit=limit, offset=offset)
            return count_txn(t, lobby_messages(chat_id), _count, chat_id=chat_id), [Message(**r) for r in rows]

        return self.db.interact("chats.chats.page", txn)

    # -- read state ------------------------------------------------------------------------
    def mark_read(self, chat_id: int, user_id: int, message_id: int) -> defer.Deferred[bool]:
        """Move user_id's last read in chat_id forward to message_id; False if that message is
        not one of the chat's."""

        def txn(t: Txn) -> bool:
            if not t.scalar(_in_chat, chat_id=chat_id, message_id=message_id):
                return False
            _mark_read_txn(t, chat_id, user_id, message_id)
            return True

        return self.db.interact("chats.chats.mark_read", txn)

    def unread_counts(self, user_id: int, kind: str) -> defer.Deferred[dict[int, int]]:
        """{chat id: messages of others after user_id's last read}, for chats with any."""
        d = self.db.rows("chats.chats.unread_counts", _unread, user_id=user_id, kind=kind)
        return d.addCallback(lambda rows: {r["chat_id"]: r["unread"] for r in rows})

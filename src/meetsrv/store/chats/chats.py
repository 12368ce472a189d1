"""Chats, their members and their messages (rooms, meeting chats, the directory lobby)."""

from __future__ import annotations

from sqlalchemy import bindparam, exists, insert, select, update
from twisted.internet import defer

from meetsrv.store.db import Database, Txn
from meetsrv.store.tables import chat_members, chats, messages, users

_chat = select(chats).where(chats.c.id == bindparam("id"))
_chat_by_slug = select(chats).where(chats.c.slug == bindparam("slug"))
_chat_by_key = select(chats.c.id).where(
    (chats.c.kind == bindparam("kind")) & (chats.c.member_key == bindparam("member_key"))
)
_chats_by_meeting = select(chats).where(chats.c.meeting_id == bindparam("meeting_id")).order_by(chats.c.id)
_is_member = select(
    exists().where((chat_members.c.chat_id == bindparam("chat_id")) & (chat_members.c.user_id == bindparam("user_id")))
)
_member_chat = (
    select(chats)
    .join(chat_members, chat_members.c.chat_id == chats.c.id)
    .where((chats.c.id == bindparam("chat_id")) & (chat_members.c.user_id == bindparam("user_id")))
)
_members = (
    select(users.c.id, users.c.username, users.c.name, users.c.email)
    .join(chat_members, chat_members.c.user_id == users.c.id)
    .where(chat_members.c.chat_id == bindparam("chat_id"))
    .order_by(users.c.id)
)
_user_chats = (
    select(chats)
    .join(chat_members, chat_members.c.chat_id == chats.c.id)
    .where((chat_members.c.user_id == bindparam("user_id")) & (chats.c.kind == bindparam("kind")))
    .order_by(chats.c.id.desc())
)
# Every chat of one kind that a user is in, with all its members: one query (the rooms list).
_mine = chat_members.alias("mine")
_user_chats_with_members = (
    select(chats.c.id.label("chat_id"), users.c.id, users.c.username, users.c.name, users.c.email)
    .select_from(
        _mine.join(chats, chats.c.id == _mine.c.chat_id)
        .join(chat_members, chat_members.c.chat_id == chats.c.id)
        .join(users, users.c.id == chat_members.c.user_id)
    )
    .where((_mine.c.user_id == bindparam("user_id")) & (chats.c.kind == bindparam("kind")))
    .order_by(chats.c.id.desc(), users.c.id)
)
_add_member = insert(chat_members).values(
    chat_id=bindparam("chat_id"), user_id=bindparam("user_id"), joined=bindparam("joined")
)
_insert_message = (
    insert(messages)
    .values(chat_id=bindparam("chat_id"), user_id=bindparam("user_id"), text=bindparam("text"),
            created=bindparam("created"))
    .returning(messages.c.id)
)
_history = (
    select(messages)
    .where(messages.c.chat_id == bindparam("chat_id"))
    .order_by(messages.c.id.desc())
    .limit(bindparam("limit"))
)
_history_before = (
    select(messages)
    .where((messages.c.chat_id == bindparam("chat_id")) & (messages.c.id < bindparam("before")))
    .order_by(messages.c.id.desc())
    .limit(bindparam("limit"))
)
_mark_read = (
    update(chat_members)
    .where((chat_members.c.chat_id == bindparam("chat_id")) & (chat_members.c.user_id == bindparam("user_id")))
    .values(last_read_message_id=bindparam("message_id"))
)


def create_chat_txn(t: Txn, kind: str, member_ids, now: float, **values) -> int:
    stmt = insert(chats).values(kind=kind, created=now, **values).returning(chats.c.id)
    chat_id = t.scalar(stmt, dynamic=True)
    for user_id in member_ids:
        t.execute(_add_member, chat_id=chat_id, user_id=user_id, joined=now)
    return chat_id


def add_member_txn(t: Txn, chat_id: int, user_id: int, now: float) -> bool:
    if t.scalar(_is_member, chat_id=chat_id, user_id=user_id):
        return False
    t.execute(_add_member, chat_id=chat_id, user_id=user_id, joined=now)
    return True


class ChatStore:
    def __init__(self, db: Database):
        self.db = db

    # -- chats -----------------------------------------------------------------------------
    def get(self, chat_id: int):
        return self.db.row("chats.chats.get", _chat, id=chat_id)

    def get_by_slug(self, slug: str):
        return self.db.row("chats.chats.get_by_slug", _chat_by_slug, slug=slug)

    def by_member_key(self, kind: str, member_key: str):
        return self.db.scalar("chats.chats.by_member_key", _chat_by_key, kind=kind, member_key=member_key)

    def by_meeting(self, meeting_id: int):
        return self.db.rows("chats.chats.by_meeting", _chats_by_meeting, meeting_id=meeting_id)

    def create(self, kind: str, member_ids, now: float, **values):
        return self.db.interact("chats.chats.create", create_chat_txn, kind, member_ids, now, **values)

    def add_member(self, chat_id: int, user_id: int, now: float):
        return self.db.interact("chats.chats.add_member", add_member_txn, chat_id, user_id, now)

    def is_member(self, chat_id: int, user_id: int):
        return self.db.scalar("chats.chats.is_member", _is_member, chat_id=chat_id, user_id=user_id).addCallback(bool)

    def chat_for_member(self, chat_id: int, user_id: int):
        """The chat if user_id is one of its members, else None."""
        return self.db.row("chats.chats.chat_for_member", _member_chat, chat_id=chat_id, user_id=user_id)

    def members(self, chat_id: int):
        return self.db.rows("chats.chats.members", _members, chat_id=chat_id)

    def chats_of(self, user_id: int, kind: str):
        return self.db.rows("chats.chats.chats_of", _user_chats, user_id=user_id, kind=kind)

    def chats_of_with_members(self, user_id: int, kind: str) -> defer.Deferred:
        """[(chat id, [member rows ordered by id])] for user_id's chats of `kind`, newest chat
        first, in one precompiled query (chats_of + members_of_chats cost two thread hops and
        an IN list compiled per call)."""

        def group(rows):
            out: dict = {}
            for r in rows:
                out.setdefault(r.pop("chat_id"), []).append(r)
            return list(out.items())

        return self.db.rows("chats.chats.chats_of_with_members", _user_chats_with_members, user_id=user_id, kind=kind).addCallback(group)

    def member_chat_with_members(self, chat_id: int, user_id: int) -> defer.Deferred:
        """(chat, members ordered by id) if user_id is a member of chat_id, else (None, []);
        one transaction, one thread hop."""

        def txn(t: Txn):
            chat = t.row(_member_chat, chat_id=chat_id, user_id=user_id)
            return chat, (t.rows(_members, chat_id=chat_id) if chat is not None else [])

        return self.db.interact("chats.chats.member_chat_with_members", txn)

    def members_of_chats(self, chat_ids) -> defer.Deferred:
        """{chat_id: [user rows ordered by id]} for several chats in one query."""
        chat_ids = sorted(set(chat_ids))
        if not chat_ids:
            return defer.succeed({})
        stmt = (
            select(chat_members.c.chat_id, users.c.id, users.c.username, users.c.name, users.c.email)
            .join(users, users.c.id == chat_members.c.user_id)
            .where(chat_members.c.chat_id.in_(chat_ids))
            .order_by(chat_members.c.chat_id, users.c.id)
        )

        def group(rows):
            out = {cid: [] for cid in chat_ids}
            for r in rows:
                out[r.pop("chat_id")].append(r)
            return out

        return self.db.rows("chats.chats.members_of_chats", stmt, dynamic=True).addCallback(group)

    # -- messages --------------------------------------------------------------------------
    def insert_message(self, chat_id: int, user_id: int, text: str, now: float):
        return self.db.scalar("chats.chats.insert_message", _insert_message, chat_id=chat_id, user_id=user_id, text=text, created=now)

    def history(self, chat_id: int, limit: int = 50, before: int | None = None):
        """The newest `limit` messages (before message id `before`), oldest first."""
        if before is None:
            d = self.db.rows("chats.chats.history", _history, chat_id=chat_id, limit=limit)
        else:
            d = self.db.rows("chats.chats.history", _history_before, chat_id=chat_id, before=before, limit=limit)
        return d.addCallback(lambda rows: rows[::-1])

    def mark_read(self, chat_id: int, user_id: int, message_id: int):
        return self.db.execute("chats.chats.mark_read", _mark_read, chat_id=chat_id, user_id=user_id, message_id=message_id)

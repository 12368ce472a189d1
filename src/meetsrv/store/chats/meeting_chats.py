"""The social door's meeting chats: the chats a user is in, their members and newest messages."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, func, select
from twisted.internet import defer

from meetsrv.store.chats.chats import CHAT_COLUMNS, MESSAGE_COLUMNS, Chat, Message
from meetsrv.store.db import Database, Row
from meetsrv.store.tables import chat_members, chats, messages

CHAT_KIND = "meeting"

_of_member = (
    select(*CHAT_COLUMNS)
    .join(chat_members, chat_members.c.chat_id == chats.c.id)
    .where((chat_members.c.user_id == bindparam("user_id")) & (chats.c.kind == CHAT_KIND))
    .order_by(chat_members.c.chat_id.desc())  # ix_chat_members_user backwards (SQLite sorts chats.id)
)


class SocialChatStore:
    def __init__(self, db: Database):
        self.db = db

    def of_member(self, user_id: int) -> defer.Deferred[list[Chat]]:
        """The user's meeting chats, newest first."""
        d = self.db.rows("chats.meeting_chats.of_member", _of_member, user_id=user_id)
        return d.addCallback(lambda rows: [Chat(**r) for r in rows])

    def member_ids(self, chat_ids: Iterable[int]) -> defer.Deferred[dict[int, list[int]]]:
        """{chat_id: [user ids in joining order]}."""
        ids = sorted(set(chat_ids))
        if not ids:
            return defer.succeed({})
        stmt = (
            select(chat_members.c.chat_id, chat_members.c.user_id)
            .where(chat_members.c.chat_id.in_(ids))
            .order_by(chat_members.c.chat_id, chat_members.c.joined, chat_members.c.user_id)
        )

        def group(rows: list[Row]) -> dict[int, list[int]]:
            out: dict[int, list[int]] = {i: [] for i in ids}
            for r in rows:
                out[r["chat_id"]].append(r["user_id"])
            return out

        return self.db.rows("chats.meeting_chats.member_ids", stmt, dynamic=True).addCallback(group)

    def last_messages(self, chat_ids: Iterable[int]) -> defer.Deferred[dict[int, Message]]:
        """{chat_id: newest Message} for the chats that have one."""
        ids = sorted(set(chat_ids))
        if not ids:
            return defer.succeed({})
        newest = (
            select(func.max(messages.c.id))
            .where(messages.c.chat_id.in_(ids))
            .group_by(messages.c.chat_id)
        )
        stmt = select(*MESSAGE_COLUMNS).where(messages.c.id.in_(newest))
        d = self.db.rows("chats.meeting_chats.last_messages", stmt, dynamic=True)
        return d.addCallback(lambda rows: {r["chat_id"]: Message(**r) for r in rows})

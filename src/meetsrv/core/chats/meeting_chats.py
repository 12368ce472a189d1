"""The social app's meeting chats: the lists a member sees. Membership, history and posting are
the chat service's."""

from __future__ import annotations

import builtins
from typing import Any

from meetsrv.core.chats.service import ChatNotFound, ChatService, NotAMember
from meetsrv.core.errors import NotFound
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.chats.chats import Chat, Message
from meetsrv.store.chats.meeting_chats import CHAT_KIND, SocialChatStore
from meetsrv.store.db import Row

HISTORY_LIMIT = 10000

__all__ = ["ChatMissing", "NotAMember", "SocialChatService"]


class ChatMissing(NotFound):
    code = "chat_missing"


class SocialChatService:
    def __init__(self, store: SocialChatStore, chats: ChatService, users: UserStore):
        self.store = store
        self.chats = chats
        self.users = users

    async def list(self, user_id: int) -> list[dict[str, Any]]:
        """The user's chats, newest first: {"chat" (Chat), "owner" and "members" (user rows),
        "last" ((Message, author row) or None), "unread" (messages of others not read yet)}."""
        chats = await self.store.of_member(user_id)
        ids = [c.id for c in chats]
        members = await self.store.member_ids(ids)
        last = await self.store.last_messages(ids)
        unread = (await self.chats.unread_counts(user_id, CHAT_KIND)) if chats else {}
        wanted = {u for ms in members.values() for u in ms} | {m.user_id for m in last.values() if m.user_id}
        users = {u["id"]: u for u in (await self.users.get_many(wanted))}
        return [
            {
                "chat": c,
                "owner": users.get(c.owner_id),
                "members": [users[u] for u in members[c.id] if u in users],
                "last": (last[c.id], users.get(last[c.id].user_id)) if c.id in last else None,
                "unread": unread.get(c.id, 0),
            }
            for c in chats
        ]

    async def member_chat(self, user_id: int, chat_id: int | None = None, slug: str | None = None) -> Chat:
        """The meeting chat if user_id is a member; ChatMissing / NotAMember otherwise."""
        try:
            return await self.chats.member_chat(user_id, CHAT_KIND, chat_id=chat_id, slug=slug)
        except ChatNotFound:
            raise ChatMissing("chat does not exist")

    async def messages(self, user_id: int, chat_id: int) -> builtins.list[tuple[Message, Row | None]]:
        """Every message of the chat, oldest first, each as (Message, author row or None). The
        user has read them all now."""
        await self.member_chat(user_id, chat_id)
        found = await self.chats.history(chat_id, HISTORY_LIMIT, reader=user_id)
        authors = {u["id"]: u for u in (await self.users.get_many(m.user_id for m in found if m.user_id))}
        return [(m, authors.get(m.user_id)) for m in found]

"""The directory lobby: one chat (kind "lobby") that every signed-in user talks in."""

from __future__ import annotations

from meetsrv.core.chats.service import ChatService
from meetsrv.core.clock import Clock
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.chats.chats import Chat, Message
from meetsrv.store.db import Conflict, Row

KIND = "lobby"
SLUG = "directory-lobby"


class DirectoryLobby:
    def __init__(self, chats: ChatService, users: UserStore, clock: Clock):
        self.chats = chats
        self.store = chats.store
        self.users = users
        self.clock = clock
        self._chat_id: int | None = None

    async def chat_id(self) -> int:
        """The lobby's chat id, made on first use."""
        if self._chat_id is not None:
            return self._chat_id
        chat = await self.store.get_by_slug(SLUG)
        if chat is None:
            try:
                chat_id = await self.store.create(KIND, [], self.clock.seconds(), slug=SLUG, title="Directory lobby")
            except Conflict:  # made at the same moment by another process
                made = await self.store.get_by_slug(SLUG)
                if made is None:
                    raise
                chat_id = made.id
        else:
            chat_id = chat.id
        self._chat_id = chat_id
        return chat_id

    async def chat_for(self, user_id: int) -> Chat:
        """The lobby's Chat, for a signed-in user (every one may talk in it)."""
        chat_id = await self.chat_id()
        return await self.chats.member_chat(user_id, KIND, chat_id=chat_id)

    async def history(self, user_id: int, limit: int, offset: int) -> tuple[int, list[tuple[Message, Row | None]]]:
        """(count, [(Message, author row or None)] newest first from offset)."""
        chat = await self.chat_for(user_id)
        count, found = await self.chats.page(chat.id, limit, offset)
        authors = {u["id"]: u for u in (await self.users.get_many(m.user_id for m in found if m.user_id))}
        return count, [(m, authors.get(m.user_id)) for m in found]

"""The directory lobby: one chat (kind "lobby") that every signed-in user talks in."""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.chats.service import ChatService
from meetsrv.store.db import Conflict

KIND = "lobby"
SLUG = "directory-lobby"


class DirectoryLobby:
    def __init__(self, chats: ChatService, users, clock):
        self.chats = chats
        self.store = chats.store
        self.users = users
        self.clock = clock
        self._chat_id = None

    @defer.inlineCallbacks
    def chat_id(self):
        """The lobby's chat id, made on first use."""
        if self._chat_id is None:
            chat = yield self.store.get_by_slug(SLUG)
            if chat is None:
                try:
                    chat_id = yield self.store.create(KIND, [], self.clock.seconds(), slug=SLUG,
                                                      title="Directory lobby")
                except Conflict:
                    chat_id = (yield self.store.get_by_slug(SLUG)).id
            else:
                chat_id = chat.id
            self._chat_id = chat_id
        return self._chat_id

    @defer.inlineCallbacks
    def chat_for(self, user_id: int):
        """The lobby's Chat, for a signed-in user (every one may talk in it)."""
        chat_id = yield self.chat_id()
        return (yield self.chats.member_chat(user_id, KIND, chat_id=chat_id))

    @defer.inlineCallbacks
    def history(self, user_id: int, limit: int, offset: int):
        """(count, [(Message, author row or None)] newest first from offset)."""
        chat = yield self.chat_for(user_id)
        count, found = yield self.chats.page(chat.id, limit, offset)
        authors = {u["id"]: u for u in (yield self.users.get_many(m.user_id for m in found if m.user_id))}
        return count, [(m, authors.get(m.user_id)) for m in found]

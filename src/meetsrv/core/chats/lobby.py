"""The directory lobby: one chat (kind "lobby") that every signed-in user talks in."""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.store.db import Conflict
from meetsrv.store.chats.chats import ChatStore
from meetsrv.store.chats.lobby import DirectoryChatStore

KIND = "lobby"
SLUG = "directory-lobby"


class DirectoryLobby:
    def __init__(self, chat_store: ChatStore, history: DirectoryChatStore, chats, clock):
        self.chat_store = chat_store
        self.history_store = history
        self.chats = chats
        self.clock = clock
        self._chat_id = None

    @defer.inlineCallbacks
    def chat_id(self):
        """The lobby's chat id, made on first use."""
        if self._chat_id is None:
            row = yield self.chat_store.get_by_slug(SLUG)
            if row is None:
                try:
                    chat_id = yield self.chat_store.create(KIND, [], self.clock.seconds(), slug=SLUG,
                                                           title="Directory lobby")
                except Conflict:
                    chat_id = (yield self.chat_store.get_by_slug(SLUG))["id"]
            else:
                chat_id = row["id"]
            self._chat_id = chat_id
        return self._chat_id

    @defer.inlineCallbacks
    def post(self, user_id: int, text: str, render):
        chat_id = yield self.chat_id()
        message = yield self.chats.post(chat_id, user_id, text, render)
        return message

    @defer.inlineCallbacks
    def history(self, limit: int, offset: int):
        chat_id = yield self.chat_id()
        result = yield self.history_store.page(chat_id, limit, offset)
        return result

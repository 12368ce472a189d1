"""The social app's meeting chats: lists, histories and who may see them (members only)."""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.errors import NotFound, NotPermitted
from meetsrv.store.chats.meeting_chats import CHAT_KIND, SocialChatStore

HISTORY_LIMIT = 10000


class ChatMissing(NotFound):
    code = "chat_missing"


class SocialChatService:
    def __init__(self, store: SocialChatStore, chats, users):
        self.store = store
        self.chats = chats  # the shared ChatService (post, membership)
        self.users = users

    @defer.inlineCallbacks
    def list(self, user_id: int):
        """The user's chats, newest first: {"chat", "members" (user rows), "last" (message|None)}."""
        rows = yield self.store.of_member(user_id)
        ids = [r["id"] for r in rows]
        members = yield self.store.member_ids(ids)
        last = yield self.store.last_messages(ids)
        wanted = {u for ms in members.values() for u in ms} | {m["user_id"] for m in last.values() if m["user_id"]}
        users = {u["id"]: u for u in (yield self.users.get_many(wanted))}
        return [
            {
                "chat": r,
                "owner": users.get(r["owner_id"]),
                "members": [users[u] for u in members[r["id"]] if u in users],
                "last": dict(last[r["id"]], author=users.get(last[r["id"]]["user_id"])) if r["id"] in last else None,
            }
            for r in rows
        ]

    @defer.inlineCallbacks
    def member_chat(self, user_id: int, chat_id: int):
        """The chat if user_id is a member; ChatMissing / NotPermitted otherwise."""
        chat = yield self.chats.store.get(chat_id)
        if chat is None or chat["kind"] != CHAT_KIND:
            raise ChatMissing("chat does not exist")
        if not (yield self.chats.is_member(chat_id, user_id)):
            raise NotPermitted("you can not see this chat")
        return chat

    @defer.inlineCallbacks
    def messages(self, user_id: int, chat_id: int):
        """Every message of the chat, oldest first, with its author row (or None)."""
        yield self.member_chat(user_id, chat_id)
        rows = yield self.store.messages(chat_id, HISTORY_LIMIT)
        authors = {u["id"]: u for u in (yield self.users.get_many(r["user_id"] for r in rows if r["user_id"]))}
        return [dict(r, author=authors.get(r["user_id"])) for r in rows]

    @defer.inlineCallbacks
    def socket_chat(self, user_id: int, slug: str):
        """The chat with this slug if user_id may open its socket, else None."""
        chat = yield self.chats.store.get_by_slug(slug)
        if chat is None or chat["kind"] != CHAT_KIND:
            return None
        if not (yield self.chats.is_member(chat["id"], user_id)):
            return None
        return chat

    def post(self, chat_id: int, user_id: int, text: str):
        """Store, then relay the frame as sent to every member socket (the sender's too)."""
        return self.chats.post(chat_id, user_id, text, lambda message: text, exclude=None)

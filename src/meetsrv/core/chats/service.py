"""The one chat service for rooms, meeting chats and the directory lobby: post (persist, then
publish on the bus), history both ways, membership, read state. Doors render their own frames."""

from __future__ import annotations

from twisted.internet import defer
from twisted.logger import Logger

from meetsrv.core.errors import NotFound, NotPermitted
from meetsrv.store.chats.chats import Chat, ChatStore, Message

log = Logger()

__all__ = ["Chat", "ChatNotFound", "ChatService", "Message", "NotAMember", "chat_channel", "envelope"]

# chats every signed-in user talks in, without a membership row
OPEN_KINDS = frozenset({"lobby"})


class ChatNotFound(NotFound):
    """No chat with that id or slug, or one of another kind."""

    code = "chat_not_found"


class NotAMember(NotPermitted):
    code = "not_a_member"


def require_member(chat: Chat | None, is_member: bool, kind: str) -> Chat:
    """The membership rule, once: the chat if it is of `kind` and the user may read and post in it."""
    if chat is None or chat.kind != kind:
        raise ChatNotFound("chat does not exist")
    if not is_member and kind not in OPEN_KINDS:
        raise NotAMember("not a member of this chat")
    return chat


def chat_channel(chat_id: int) -> str:
    return f"chat:{chat_id}"


def envelope(frame: str, exclude: str | None = None) -> str:
    """What travels on the bus: the id of a socket not to send to, a newline, the frame."""
    return f"{exclude or ''}\n{frame}"


class ChatService:
    def __init__(self, store: ChatStore, bus, clock):
        self.store = store
        self.bus = bus
        self.clock = clock

    # -- membership ------------------------------------------------------------------------
    @defer.inlineCallbacks
    def member_chat(self, user_id: int, kind: str, chat_id: int | None = None, slug: str | None = None):
        """The chat of `kind` (by id or slug) if user_id may read and post in it. ChatNotFound
        when there is none of that kind, NotAMember when user_id is not one of its members."""
        chat, is_member = yield self.store.chat_for_user(user_id, chat_id=chat_id, slug=slug)
        return require_member(chat, is_member, kind)

    # -- messages --------------------------------------------------------------------------
    @defer.inlineCallbacks
    def post(self, chat_id: int, user_id: int, text: str, render, exclude: str | None = None):
        """Store the message, then publish render(message) to the chat's channel; the Message.

        `exclude` names a socket that should not receive it (the sender, for some doors)."""
        now = self.clock.seconds()
        message_id = yield self.store.insert_message(chat_id, user_id, text, now)
        message = Message(message_id, chat_id, user_id, text, now, False, False)
        try:
            yield self.bus.publish(chat_channel(chat_id), envelope(render(message), exclude))
        except Exception:
            # the message is stored; sockets that miss it catch up from the history
            log.failure("publishing message {id} of chat {chat} failed", id=message_id, chat=chat_id)
        return message

    def history(self, chat_id: int, limit: int = 50, before: int | None = None, after: int | None = None,
                reader: int | None = None):
        """Messages oldest first: the newest `limit` (before message id `before`), or the oldest
        `limit` after message id `after`. A `reader` who reads the newest page has read it."""
        return self.store.history(chat_id, limit, before, after, reader)

    def page(self, chat_id: int, limit: int, offset: int):
        """(count, messages newest first from `offset`), for limit/offset pagination."""
        return self.store.page(chat_id, limit, offset)

    # -- read state ------------------------------------------------------------------------
    def mark_read(self, chat_id: int, user_id: int, message_id: int):
        """user_id has read chat_id up to message_id (it only moves forward); False when that
        message is not one of the chat's."""
        return self.store.mark_read(chat_id, user_id, message_id)

    def unread_counts(self, user_id: int, kind: str):
        """{chat id: messages of others after user_id's last read} for user_id's chats of kind."""
        return self.store.unread_counts(user_id, kind)

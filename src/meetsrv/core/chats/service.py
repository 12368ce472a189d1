"""Chat messages: persist, then publish on the bus. Doors render their own frames."""

from __future__ import annotations

from twisted.internet import defer
from twisted.logger import Logger

from meetsrv.store.chats.chats import ChatStore

log = Logger()


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

    @defer.inlineCallbacks
    def post(self, chat_id: int, user_id: int, text: str, render, exclude: str | None = None):
        """Store the message, then publish render(message) to the chat's channel.

        `render(message)` gets {"id","chat_id","user_id","text","created"} and returns the frame
        text; `exclude` names a socket that should not receive it (the sender, for some doors)."""
        now = self.clock.seconds()
        message_id = yield self.store.insert_message(chat_id, user_id, text, now)
        message = {"id": message_id, "chat_id": chat_id, "user_id": user_id, "text": text, "created": now}
        try:
            yield self.bus.publish(chat_channel(chat_id), envelope(render(message), exclude))
        except Exception:
            # the message is stored; sockets that miss it catch up from the history
            log.failure("publishing message {id} of chat {chat} failed", id=message_id, chat=chat_id)
        return message

    def history(self, chat_id: int, limit: int = 50, before: int | None = None):
        return self.store.history(chat_id, limit, before)

    def is_member(self, chat_id: int, user_id: int):
        return self.store.is_member(chat_id, user_id)

    def chat_for_member(self, chat_id: int, user_id: int):
        return self.store.chat_for_member(chat_id, user_id)

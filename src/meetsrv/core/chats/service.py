"""The one chat service for rooms, meeting chats and the directory lobby: membership, post
(stored once per client_id, then published; a publish that fails is tried again), history both
ways, read state. Doors render their own frames.

What goes on the bus for a chat is `<message id> <id of the chat's message before it>\\n<frame>`:
the link lets every process deliver a chat's frames in id order, each once, and notice a frame
that did not come (ws/feed.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from meetsrv.bus import Bus
from meetsrv.core.clock import Clock, DelayedCall
from meetsrv.core.errors import NotFound, NotPermitted
from meetsrv.store.chats.chats import Chat, ChatGone, ChatStore, Message
from meetsrv.store.db import Conflict

log = Logger()

__all__ = ["Chat", "ChatNotFound", "ChatService", "Message", "NotAMember", "Posted", "chat_channel",
           "envelope"]

# chats every signed-in user talks in, without a membership row
OPEN_KINDS = frozenset({"lobby"})
# a failed publish is tried again after 1, 2, 4 ... seconds, at most this far apart
REPUBLISH_MAX_DELAY = 30.0
REPUBLISH_ATTEMPTS = 20


class ChatNotFound(NotFound):
    """No chat with that id or slug, or one of another kind."""

    code = "chat_not_found"


class NotAMember(NotPermitted):
    code = "not_a_member"


@dataclass(frozen=True, slots=True)
class Posted:
    message: Message
    prev_id: int  # the chat's message before this one (0: the first)
    new: bool  # False: the sender's client_id was stored before; `message` is that first one


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
    """What travels on the bus for a plain (non-chat) channel: the id of a socket not to send
    to, a newline, the frame."""
    return f"{exclude or ''}\n{frame}"


def chat_envelope(message_id: int, prev_id: int, frame: str) -> str:
    return f"{message_id} {prev_id}\n{frame}"


def parse_chat_envelope(payload: str) -> tuple[int, int, str]:
    """(message id, previous message id, frame); ValueError when it is not one."""
    head, sep, frame = payload.partition("\n")
    message_id, prev_id = head.split(" ")
    if not sep:
        raise ValueError("no frame")
    return int(message_id), int(prev_id), frame


class ChatService:
    def __init__(self, store: ChatStore, bus: Bus, clock: Clock, metrics: Any = None):
        self.store = store
        self.bus = bus
        self.clock = clock
        self.metrics = metrics  # meetsrv.metrics: chat_message_stored()
        self._republish: dict[int, DelayedCall] = {}  # message id -> the delayed call trying again

    # -- membership ------------------------------------------------------------------------
    async def member_chat(self, user_id: int, kind: str, chat_id: int | None = None,
                          slug: str | None = None) -> Chat:
        """The chat of `kind` (by id or slug) if user_id may read and post in it. ChatNotFound
        when there is none of that kind, NotAMember when user_id is not one of its members."""
        chat, is_member = await self.store.chat_for_user(user_id, chat_id=chat_id, slug=slug)
        return require_member(chat, is_member, kind)

    # -- messages --------------------------------------------------------------------------
    async def post(self, chat_id: int, user_id: int, text: str, client_id: str | None = None) -> Posted:
        """Store a message: Posted. With a client_id, the message is stored once per (user,
        chat, client_id): a repeat stores nothing and gives the first message (new=False).
        ChatNotFound when the chat is gone. Publishing is the caller's next step (publish), for
        a repeat too: the first publish may never have happened (the process storing it died,
        or the database's answer was lost and the client sent it again)."""
        now = self.clock.seconds()
        try:
            message_id, prev_id = await self.store.insert_message(chat_id, user_id, text, now, client_id)
        except ChatGone:
            raise ChatNotFound("chat does not exist")
        except Conflict:
            found = await self.store.by_client_id(chat_id, user_id, client_id)
            if found is None:  # a unique violation that is not this client_id's
                raise
            return Posted(found[0], found[1], False)
        if self.metrics is not None:
            self.metrics.chat_message_stored()
        return Posted(Message(message_id, chat_id, user_id, text, now, False, False, client_id), prev_id, True)

    def publish(self, posted: Posted, frame: str) -> defer.Deferred[None]:
        """Publish a stored message's frame on its chat's channel. Never fails: a publish the bus
        refuses is tried again later (receivers drop a frame they already delivered)."""
        message = posted.message
        payload = chat_envelope(message.id, posted.prev_id, frame)
        return self._publish(chat_channel(message.chat_id), payload, message.id, 0)

    def _publish(self, channel: str, payload: str, message_id: int, attempt: int) -> defer.Deferred[None]:
        self._republish.pop(message_id, None)
        d = defer.maybeDeferred(self.bus.publish, channel, payload)

        def failed(failure: Failure) -> None:
            if attempt + 1 >= REPUBLISH_ATTEMPTS:
                log.failure("publishing message {id} failed; its chat's sockets read it from the "
                            "database with the next message", failure, id=message_id)
                return None
            delay = min(REPUBLISH_MAX_DELAY, 2.0 ** attempt)
            log.warn("publishing message {id} failed ({error}); trying again in {delay} s",
                     id=message_id, error=failure.getErrorMessage(), delay=delay)
            self._republish[message_id] = self.clock.callLater(
                delay, self._publish, channel, payload, message_id, attempt + 1)
            return None

        return d.addCallbacks(lambda _: None, failed)

    def stop(self) -> None:
        """Stop trying failed publishes again (the server is stopping)."""
        calls, self._republish = self._republish, {}
        for call in calls.values():
            if call.active():
                call.cancel()

    async def history(self, chat_id: int, limit: int = 50, before: int | None = None, after: int | None = None,
                      reader: int | None = None) -> list[Message]:
        """Messages oldest first: the newest `limit` (before message id `before`), or the oldest
        `limit` after message id `after`. A `reader` who reads the newest page has read it."""
        return await self.store.history(chat_id, limit, before, after, reader)

    async def page(self, chat_id: int, limit: int, offset: int) -> tuple[int, list[Message]]:
        """(count, messages newest first from `offset`), for limit/offset pagination."""
        return await self.store.page(chat_id, limit, offset)

    async def newest_id(self, chat_id: int) -> int:
        """The id of the chat's newest message (0: none)."""
        return await self.store.newest_id(chat_id)

    # -- read state ------------------------------------------------------------------------
    async def mark_read(self, chat_id: int, user_id: int, message_id: int) -> bool:
        """user_id has read chat_id up to message_id (it only moves forward); False when that
        message is not one of the chat's."""
        return await self.store.mark_read(chat_id, user_id, message_id)

    async def unread_counts(self, user_id: int, kind: str) -> dict[int, int]:
        """{chat id: messages of others after user_id's last read} for user_id's chats of kind."""
        return await self.store.unread_counts(user_id, kind)

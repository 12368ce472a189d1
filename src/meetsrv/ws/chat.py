"""The base of every chat socket (rooms, social meeting chats, the directory lobby): the
guarantees of every chat, kept once.

- Resume: `?after=<message id>` sends every stored message with a larger id, in order and in
  the live frame shape, before any live frame. The socket joins the chat's feed first and holds
  the feed's frames while it reads the database, then sends what it held, skipping ids already
  sent: a message stored during the handshake comes exactly once.
- Order: the chat's feed (ws/feed.py) hands frames over in id order; the socket also never sends
  an id at or below the last one it sent.
- Posting: stored (once per client_id), acknowledged, then published. A repeated client_id is
  answered with the first message and published again (its first publish may never have
  happened; sockets that have it drop it), never sent again to the socket that repeated it. A
  message that cannot be stored is answered with an error frame and the socket stays open.

A door's socket implements `authorize` (ending with `open_chat`), `received`, and the frames:
`live_frame`, `own_frame`, `stored_frames`, and the answers `acknowledged`, `repeated`,
`not_stored`.
"""

from __future__ import annotations

from autobahn.websocket.protocol import WebSocketProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer
from twisted.logger import Logger

from meetsrv.core.chats.service import Message, chat_channel
from meetsrv.ws.feed import SAME
from meetsrv.ws.protocol import DoorSocket

log = Logger()

RESUME_BATCH = 200
CLIENT_ID_MAX = 64
MAX_ID_DIGITS = 18


def valid_client_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= CLIENT_ID_MAX


def message_id_arg(value) -> int | None:
    """A message id as a frame carries it (a positive JSON integer), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**MAX_ID_DIGITS:
        return value
    return None


class ChatSocket(DoorSocket):
    chat_id: int | None = None  # the chat followed (its feed's channel is not in `channels`)
    cursor = 0  # the id of the last chat message sent on this socket
    backlog: list | None = None  # the feed's frames held until open / resumed
    resuming = False

    @property
    def services(self):
        return self.factory.door.services

    # -- opening -----------------------------------------------------------------------------
    async def open_chat(self, chat_id: int) -> None:
        """The door's checks passed: follow the chat (and resume from `?after=`). Called at the
        end of `authorize`, before the handshake completes."""
        raw = self.query.get("after")
        if raw is not None:
            if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_ID_DIGITS:  # isdigit() passes '²'
                raise ConnectionDeny(400, "after must be a message id")
            self.cursor = int(raw)
            self.resuming = True
        self.chat_id = chat_id
        # frames are held until the socket is open (and has sent what it resumes)
        self.backlog = []
        joined_after = await self.factory.hub.join_chat(self.services.chats, chat_id, self)
        if joined_after is not None:
            # an `after` beyond the chat's newest message names none the client can have seen:
            # messages stored from now on may take such ids, and every one of them must be sent
            self.cursor = min(self.cursor, joined_after)

    def onClose(self, wasClean, code, reason):
        if self.chat_id is not None:
            self.factory.hub.leave(chat_channel(self.chat_id), self)
        super().onClose(wasClean, code, reason)

    def opened(self):
        if self.resuming:
            return defer.ensureDeferred(self._resume())
        self._send_backlog()
        return None

    async def _resume(self) -> None:
        chats = self.services.chats
        while not self._closed:
            found = await chats.history(self.chat_id, RESUME_BATCH, after=self.cursor)
            if found:
                for message, frame in zip(found, await self.stored_frames(found)):
                    self._send_chat(message.id, frame)
            if len(found) < RESUME_BATCH:
                break
        self._send_backlog()

    def _send_backlog(self) -> None:
        backlog, self.backlog = self.backlog or [], None
        for message_id, frame in backlog:
            self._send_chat(message_id, frame)

    # -- delivery ----------------------------------------------------------------------------
    def chat_frame(self, message_id: int, frame) -> None:
        """From the chat's feed, in id order: a frame (str) or a prepared message."""
        if self.backlog is not None:
            self.backlog.append((message_id, frame))
        else:
            self._send_chat(message_id, frame)

    def _send_chat(self, message_id: int, frame) -> None:
        if message_id <= self.cursor or self._closed or self.state != WebSocketProtocol.STATE_OPEN:
            return
        self.cursor = message_id
        if isinstance(frame, str):
            self.sendMessage(frame.encode("utf-8"))
        else:
            self.sendPreparedMessage(frame)

    # -- posting -----------------------------------------------------------------------------
    async def post(self, text: str, client_id: str | None = None) -> None:
        """Store, acknowledge, publish."""
        chats = self.services.chats
        try:
            posted = await chats.post(self.chat_id, self.user_id, text, client_id)
        except Exception:
            log.failure("storing a message in chat {chat} failed", chat=self.chat_id)
            self.not_stored(client_id)
            return
        message = posted.message
        feed = self.factory.hub.feed(self.chat_id)
        if posted.new:
            self.acknowledged(message)
            own = self.own_frame(message)
        else:
            self.repeated(message)
            own = None  # the answer to the repeat was all this socket gets of it
        if feed is not None:
            feed.expect_own(message.id, self.conn_id, own)
        await chats.publish(posted, self.live_frame(message))

    # -- the door's frames -------------------------------------------------------------------
    def live_frame(self, message: Message) -> str:
        """The frame every socket of the chat gets (rendered on the sender's socket)."""
        raise NotImplementedError

    def own_frame(self, message: Message):
        """What the sending socket gets instead: SAME (the live frame), None (nothing) or a frame."""
        return SAME

    def stored_frames(self, messages: list[Message]) -> defer.Deferred:
        """The live frames of stored messages (resume, and messages read from the database)."""
        raise NotImplementedError

    def acknowledged(self, message: Message) -> None:
        """The message is stored (before it is published)."""

    def repeated(self, message: Message) -> None:
        """The client_id was stored before: `message` is the first one (nothing is stored; it is
        published again, and not sent to this socket)."""

    def not_stored(self, client_id: str | None) -> None:
        """The message could not be stored."""

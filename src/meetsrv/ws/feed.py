"""A chat's feed in one process: its frames delivered to its local sockets in message id order,
each once.

Every chat frame on the bus names its message id and the id of the chat's message before it
(posting takes the chat's row lock, so that link is exact, whichever process stored it). With
several writers, or several processes over Redis, frames can arrive out of order: the feed holds
a frame until the one before it has been delivered. A frame that does not come within GAP_WAIT
seconds (a lost or refused publish) is read from the database instead, with everything after
the last delivered one, so sockets never wait on a frame that will not come. When the bus was
away (Redis), no frame comes at all: the hub asks every feed to fill when the bus is back.

A message posted by one of this process's sockets may be sent to its sender differently (no
echo, or a copy carrying the client_id): the sender registers that with `expect_own` before it
publishes.
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.logger import Logger

from meetsrv.core.chats.service import chat_channel, parse_chat_envelope

log = Logger()

GAP_WAIT = 0.5  # seconds a frame waits for the one before it before the feed reads the database
FILL_BATCH = 200  # messages per read when filling from the database
SAME = object()  # expect_own: the sender gets the frame everyone gets


class ChatFeed:
    __slots__ = ("hub", "chats", "chat_id", "channel", "clock", "sockets", "last", "pending", "own",
                 "_timer", "_filling", "_fill_again", "_closed", "_ready", "subscription")

    def __init__(self, hub, chats, chat_id: int, clock):
        self.hub = hub
        self.chats = chats  # the ChatService: the newest id, history after an id
        self.chat_id = chat_id
        self.channel = chat_channel(chat_id)
        self.clock = clock
        self.sockets: dict[str, object] = {}
        self.last: int | None = None  # the id of the last message delivered (None: not read yet)
        self.pending: dict[int, tuple[int, str]] = {}  # previous id -> (id, frame) held back
        self.own: dict[int, tuple[str, object]] = {}  # message id -> (sender's conn id, its frame)
        self._timer = None
        self._filling = False
        self._fill_again = False  # a fill was asked for while one ran (or before the start)
        self._closed = False
        self._ready: list[defer.Deferred] | None = []
        self.subscription = None

    # -- starting ----------------------------------------------------------------------------
    def start(self) -> None:
        """Subscribe to the chat's channel, then read its newest id."""
        self.subscription = self.hub.bus.subscribe(self.channel, self.received)
        self.subscription.ready.addCallback(lambda _: defer.ensureDeferred(self.chats.newest_id(self.chat_id))).addCallbacks(
            self._started, self._start_failed)

    def _started(self, newest_id: int) -> None:
        """Subscribed, then read the newest id: whatever is stored after it arrives as a frame."""
        if self._closed:
            return
        self.last = newest_id
        waiting, self._ready = self._ready, None
        if self._fill_again:
            self.fill()  # the bus came back while the newest id was read: it may be older
        self._advance()
        for d in waiting:
            d.callback(newest_id)

    def _start_failed(self, failure) -> None:
        """The newest id could not be read: the sockets waiting are refused, and the next one
        to join starts a new feed."""
        waiting, self._ready = self._ready or [], None
        self.close()
        self.hub.forget_feed(self)
        for d in waiting:
            d.errback(failure)

    def when_ready(self) -> defer.Deferred[int | None]:
        """Fires once frames stored from now on will be delivered, with the id of the last
        message that was not (None: the feed closed first). Called as a socket is added."""
        if self._ready is None:
            return defer.succeed(None if self._closed else self.last)
        d = defer.Deferred()
        self._ready.append(d)
        return d

    # -- sockets -----------------------------------------------------------------------------
    def add(self, sock) -> None:
        self.sockets[sock.conn_id] = sock

    def remove(self, sock) -> bool:
        """Drop sock; True when the feed has no socket left (and is closed)."""
        self.sockets.pop(sock.conn_id, None)
        if self.sockets:
            return False
        self.close()
        return True

    def close(self) -> None:
        self._closed = True
        if self.subscription is not None:
            self.subscription.cancel()
        self._cancel_timer()
        self.pending.clear()
        self.own.clear()
        # sockets still in their handshake go on (and find their connection gone)
        waiting, self._ready = self._ready or [], None
        for d in waiting:
            d.callback(None)

    def expect_own(self, message_id: int, conn_id: str, frame) -> None:
        """The socket conn_id posted message_id: send it `frame` instead (None: nothing)."""
        if frame is SAME or (self.last is not None and message_id <= self.last):
            return
        self.own[message_id] = (conn_id, frame)

    # -- delivery ----------------------------------------------------------------------------
    def received(self, payload: str) -> None:
        try:
            message_id, prev_id, frame = parse_chat_envelope(payload)
        except ValueError:
            log.warn("not a chat frame on {channel}", channel=self.channel)
            return
        if self.last is not None and message_id <= self.last:
            return  # delivered already (a publish tried again, or read from the database)
        self.pending[prev_id] = (message_id, frame)
        self._advance()

    def _advance(self) -> None:
        if self.last is None or self._filling or self._closed:
            return
        moved = False
        while True:
            item = self.pending.pop(self.last, None)
            if item is None:
                break
            self._deliver(*item)
            moved = True
        if self.pending:
            for prev_id in [p for p, (i, _) in self.pending.items() if i <= self.last]:
                del self.pending[prev_id]
        if not self.pending:
            self._cancel_timer()
        elif moved or self._timer is None:
            self._cancel_timer()
            self._timer = self.clock.callLater(GAP_WAIT, self._gap)

    def _deliver(self, message_id: int, frame: str) -> None:
        self.last = message_id
        own = self.own.pop(message_id, None) if self.own else None
        prepared = None
        sent = 0
        for conn_id, sock in list(self.sockets.items()):
            if own is not None and own[0] == conn_id:
                if own[1] is not None:
                    sock.chat_frame(message_id, own[1])
                    sent += 1
                continue
            if prepared is None:
                prepared = self.hub.frame_factory.prepareMessage(frame.encode("utf-8"))
            sock.chat_frame(message_id, prepared)
            sent += 1
        metrics = self.hub.metrics
        if sent and metrics is not None:
            metrics.chat_messages_delivered(sent)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None

    def _gap(self) -> None:
        self._timer = None
        self.fill()

    def fill(self) -> defer.Deferred:
        """Deliver what the database holds after the last delivered message, up to the chat's
        newest (a frame did not come, or the bus was away), then go on with the frames held
        back. Asked while a fill runs (or before the feed has started), it runs once more after
        that one: what is missing may have been stored after it read."""
        if self._closed:
            return defer.succeed(None)
        if self._filling or self.last is None:
            self._fill_again = True
            return defer.succeed(None)
        self._filling = True
        self._fill_again = False
        return defer.ensureDeferred(self._fill()).addErrback(
            lambda f: log.failure("filling chat {chat} from the database failed", f, chat=self.chat_id)
        ).addBoth(self._filled)

    async def _fill(self) -> None:
        while not self._closed:
            found = await self.chats.history(self.chat_id, FILL_BATCH, after=self.last)
            if not found or self._closed or not self.sockets:
                return
            renderer = next(iter(self.sockets.values()))
            frames = await renderer.stored_frames(found)
            for message, frame in zip(found, frames):
                if not self._closed and message.id > self.last:
                    self._deliver(message.id, frame)
            if len(found) < FILL_BATCH:
                return

    def _filled(self, _) -> None:
        self._filling = False
        if self._fill_again and not self._closed:
            self.fill()
            return
        self._advance()

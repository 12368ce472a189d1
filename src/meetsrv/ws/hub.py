"""The hub: which local sockets listen on which bus channel.

One bus subscription per channel per process. A message is encoded into a WebSocket frame once
(prepareMessage) and that frame is sent to every local socket of the channel, except the one the
envelope names (the sender, for doors that do not echo). A chat's channel is a ChatFeed
(ws/feed.py), which also keeps the chat's frames in id order.
"""

from __future__ import annotations

from time import perf_counter

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from meetsrv.bus import BusUnavailable
from meetsrv.core.chats.service import chat_channel
from meetsrv.ws.feed import ChatFeed
from meetsrv.ws.protocol import CLOSE_CREDENTIAL_REVOKED

socket_log = Logger(namespace="meetsrv.socket")


def _door_name(sock) -> str:
    door = getattr(sock.factory, "door", None)
    return getattr(door, "name", "none")


class SocketHub:
    def __init__(self, bus, frame_factory, clock=None, metrics=None, access_log: bool = False):
        if clock is None:
            from twisted.internet import reactor as clock
        self.bus = bus
        self.clock = clock
        # any WebSocketServerFactory: prepareMessage only needs its (shared) settings
        self.frame_factory = frame_factory
        # the feeds count chat frames delivered on it
        self.metrics = metrics
        # with the access log, a line per socket opened and closed
        self.access_log = access_log
        # door name -> open sockets of this process (the metrics gauge)
        self.open_by_door: dict[str, int] = {}
        self._feeds: dict[str, ChatFeed] = {}
        self._sockets: dict[str, dict[str, object]] = {}
        self._subs: dict[str, object] = {}
        # channel -> True once its subscription is live, else the Deferreds waiting for that
        self._ready: dict[str, object] = {}
        # every open socket of this process, for a clean shutdown
        self._open: dict[str, object] = {}
        # new sockets are refused (503) once the server is stopping
        self.accepting = True
        # the sockets of each credential (ws/registry.py), set by the services
        self.credential_sockets = None
        bus.on_restored(self.catch_up)

    def catch_up(self) -> None:
        """Redis is back: what other processes published meanwhile was lost, so every chat feed
        reads what its chat stored since its last frame (CONTRACT.md: a socket that stays
        connected through a Redis outage misses nothing)."""
        for feed in list(self._feeds.values()):
            feed.fill()

    def opened(self, sock) -> None:
        self._open[sock.conn_id] = sock
        sock.opened_at = perf_counter()
        door = _door_name(sock)
        self.open_by_door[door] = self.open_by_door.get(door, 0) + 1
        if self.access_log:
            socket_log.info("socket opened door={door} user={user_id} conn={conn_id}",
                            door=door, user_id=sock.user_id, conn_id=sock.conn_id)

    def closed(self, sock) -> None:
        """The socket is closed and the messages it received are handled."""
        if self._open.pop(sock.conn_id, None) is None:
            return  # refused at the handshake: never opened
        door = _door_name(sock)
        self.open_by_door[door] -= 1
        if self.access_log:
            socket_log.info(
                "socket closed door={door} user={user_id} code={code} after {duration_s}s conn={conn_id}",
                door=door, user_id=sock.user_id, code=sock.close_code,
                duration_s=round(perf_counter() - sock.opened_at, 3), conn_id=sock.conn_id,
            )

    def close_user(self, user_id: int) -> None:
        """Close this process's open sockets of a user whose sessions all ended (staff ended them,
        or deactivated or deleted the account): the credentials they were opened with are void."""
        for sock in list(self._open.values()):
            if sock.user_id == user_id and not sock._closed:
                sock.sendClose(code=CLOSE_CREDENTIAL_REVOKED, reason="session ended")

    def close_all(self, reactor, timeout: float = 5.0) -> defer.Deferred:
        """Shutting down: let each socket finish the messages it has received (they are stored
        and published while the bus and database are still up), then close it: 1001, going
        away."""
        self.accepting = False
        sockets = list(self._open.values())
        waits = []
        for sock in sockets:
            d = sock.when_idle()
            d.addCallback(lambda _, s=sock: self._going_away(s))
            waits.append(d)
        d = defer.DeferredList(waits, consumeErrors=True)
        d.addTimeout(timeout, reactor)
        d.addErrback(lambda _: None)
        return d

    def join_chat(self, chats, chat_id: int, sock) -> defer.Deferred:
        """Add sock to the chat's feed; fires once every message stored from now on will reach
        it (through sock.chat_frame), in id order, each once, with the id of the chat's last
        message that will not (None: the feed closed first)."""
        channel = chat_channel(chat_id)
        feed = self._feeds.get(channel)
        if feed is None:
            feed = self._feeds[channel] = ChatFeed(self, chats, chat_id, self.clock)
            feed.add(sock)
            ready = feed.when_ready()
            feed.start()
            return ready
        feed.add(sock)
        return feed.when_ready()

    def feed(self, chat_id: int) -> ChatFeed | None:
        return self._feeds.get(chat_channel(chat_id))

    def forget_feed(self, feed: ChatFeed) -> None:
        if self._feeds.get(feed.channel) is feed:
            del self._feeds[feed.channel]

    @staticmethod
    def _going_away(sock) -> defer.Deferred:
        """Close with 1001; fires once the connection is gone (the close frame is on the wire
        before the process exits)."""
        gone = defer.Deferred()
        sock.is_closed.addBoth(lambda result: (gone.called or gone.callback(None), result)[1])
        sock.going_away()
        return gone

    def join(self, channel: str, sock) -> defer.Deferred:
        """Add sock to channel; the Deferred fires when messages published from now on arrive."""
        sockets = self._sockets.get(channel)
        if sockets is None:
            sockets = self._sockets[channel] = {}
            self._ready[channel] = []
            sub = self.bus.subscribe(channel, lambda payload, c=channel: self._deliver(c, payload))
            self._subs[channel] = sub
            sub.ready.addBoth(self._live, channel, sub)
            if channel not in self._sockets:  # refused at once: the bus is away
                return defer.fail(BusUnavailable(f"could not subscribe to {channel}"))
        sockets[sock.conn_id] = sock
        state = self._ready.get(channel)
        if state is True:
            return defer.succeed(None)
        d = defer.Deferred()
        state.append(d)
        return d

    def _live(self, result, channel, sub):
        if self._subs.get(channel) is not sub:
            return None
        if isinstance(result, Failure):
            # the bus could not subscribe (Redis away): the sockets waiting are refused (503),
            # and the next socket to join subscribes again
            waiting = self._ready.pop(channel, [])
            del self._subs[channel]
            self._sockets.pop(channel, None)
            sub.cancel()
            for d in waiting if waiting is not True else ():
                d.errback(result)
            return None
        waiting, self._ready[channel] = self._ready[channel], True
        for d in waiting:
            d.callback(None)
        return None

    def leave(self, channel: str, sock) -> None:
        feed = self._feeds.get(channel)
        if feed is not None:
            if sock.conn_id in feed.sockets and feed.remove(sock):
                del self._feeds[channel]
            return
        sockets = self._sockets.get(channel)
        if sockets is None:
            return
        sockets.pop(sock.conn_id, None)
        if not sockets:
            del self._sockets[channel]
            self._subs.pop(channel).cancel()
            waiting = self._ready.pop(channel, True)
            if waiting is not True:
                for d in waiting:
                    d.callback(None)

    def sockets(self, channel: str) -> list:
        return list(self._sockets.get(channel, {}).values())

    def _deliver(self, channel: str, payload: str) -> None:
        exclude, _, frame = payload.partition("\n")
        sockets = self._sockets.get(channel)
        if not sockets:
            return
        prepared = self.frame_factory.prepareMessage(frame.encode("utf-8"))
        for conn_id, sock in list(sockets.items()):
            if conn_id != exclude and not sock._closed:
                sock.sendPreparedMessage(prepared)

"""The base of every door's WebSocket protocol: ordering, rate limit, JSON frames, hub channels."""

from __future__ import annotations

import itertools
import json
import os
from collections import deque

from autobahn.twisted.util import peer2str
from autobahn.twisted.websocket import WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from autobahn.websocket.utf8validator import Utf8Validator
from twisted.internet import defer
from twisted.logger import Logger

from meetsrv.core.accounts.credentials import token_hash
from meetsrv.http.body import BodyError, loads_json
from meetsrv.http.credentials import SocketHandshake
from meetsrv.http.models import text_problem, unstorable
from meetsrv.http.outage import is_outage
from meetsrv.ws.factory import origin_allowed

_ids = itertools.count(1)
_process = os.urandom(4).hex()

log = Logger()

CLOSE_GOING_AWAY = 1001  # the server is stopping
CLOSE_POLICY = 1008  # the client does not read what it is sent
CLOSE_RATE_LIMITED = 4029
CLOSE_CREDENTIAL_REVOKED = 4001  # CONTRACT.md: a revoked credential's open sockets close
CLOSE_INTERNAL_ERROR = 4500
# a passing condition, such as the database away: RFC 6455's 1013 (try again later) in the private
# range, since a server may send only 1000 and 3000-4999
CLOSE_TRY_AGAIN_LATER = 4013


def unsent_bytes(transport) -> int:
    """Bytes written to a TCP transport that the kernel has not taken yet (the peer does not
    read them); 0 for a transport that does not say."""
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return 0


def json_frame(text):
    """A received text frame as JSON; None when it is not text, not JSON, nested deeper than any
    door reads (http.body.MAX_JSON_DEPTH), or holds text no database stores (a \\u0000 or
    lone \\ud800 escape)."""
    if text is None:
        return None
    try:
        value = loads_json(text)
    except BodyError:
        return None
    return None if text_problem(value) is not None else value


class TokenBucket:
    """`rate` per second, bursts of `burst`, on the injected clock."""

    __slots__ = ("clock", "rate", "burst", "tokens", "stamp")

    def __init__(self, clock, rate: float, burst: float):
        self.clock, self.rate, self.burst = clock, rate, burst
        self.tokens = burst
        self.stamp = clock.seconds()

    def take(self) -> bool:
        now = self.clock.seconds()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


# A deque that is never appended to: the send queue of every socket that has not sent in chunks
# (DoorSocket.sendData gives a socket its own before Autobahn queues anything).
_NO_SEND_QUEUE: deque = deque()
_OPEN = WebSocketServerProtocol.STATE_OPEN

# What an open socket no longer needs: the handshake as Autobahn parsed it (the door read it in
# `authorize`), and the transport details it copied the peer from.
_HANDSHAKE_ONLY = (
    "http_headers", "http_request_data", "http_response_data", "http_status_line", "http_request_uri",
    "http_request_path", "http_request_params", "http_request_host", "websocket_origin",
    "websocket_protocols", "websocket_extensions", "_wskey", "_transport_details",
    "query", "route_args",
)

# The values Autobahn gives each socket's flags, counters and timers until something happens:
# class attributes of DoorSocket too, so an open socket whose value is still the default drops
# its own copy (DoorSocket._compact). Immutable values only.
_DEFAULTS = {
    "_perMessageCompress": None, "trackedTimings": None, "send_state": 0, "triggered": False,
    "data": b"", "inside_message": False, "current_frame": None, "websocket_version": 13,
    "websocket_protocol_in_use": None, "websocket_extensions_in_use": (),
    "wasMaxFramePayloadSizeExceeded": False, "wasMaxMessagePayloadSizeExceeded": False,
    "closedByMe": False, "failedByMe": False, "droppedByMe": False, "wasClean": False,
    "wasNotCleanReason": None, "wasServerConnectionDropTimeout": False,
    "wasOpenHandshakeTimeout": False, "wasCloseHandshakeTimeout": False,
    "wasServingFlashSocketPolicyFile": False, "localCloseCode": None, "localCloseReason": None,
    "remoteCloseCode": None, "remoteCloseReason": None, "openHandshakeTimeoutCall": None,
    "closeHandshakeTimeoutCall": None, "autoPingTimeoutCall": None, "autoPingPending": None,
    "autoPingPendingSeq": 0, "autoPingPendingSent": None,
}


class _OnFirstUse:
    """A per-socket value made when it is first read, then kept on the socket (a non-data
    descriptor: the instance's own value hides it)."""

    def __init__(self, make):
        self.make = make
        self.name = ""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.make()
        return value


class DoorSocket(WebSocketServerProtocol):
    """Subclasses implement `authorize(request)` (may return a Deferred; raise ConnectionDeny to
    refuse), `opened()` and `received(payload_text)`. Messages are handled one at a time, in order.

    The factory carries `hub`, `clock` and the services the door needs.

    Memory: an idle open socket keeps only what differs from its class. Options live on the
    factory's socket class (ws/factory.py), flags at their default on DoorSocket (_DEFAULTS), the
    handshake is dropped once the socket is open, and the send queue, the UTF-8 validator and
    the chain of received messages are made when first needed."""

    route_args: dict = {}
    # for the socket's close line (hub.closed): when it opened, and the close code
    opened_at = 0.0
    close_code = None
    # at least 20 a second with bursts of 100 (CONTRACT.md); more than that closes the socket
    message_rate = 50.0
    message_burst = 200.0
    _bucket: TokenBucket | None = None
    channels: list[str] | tuple = ()  # the hub channels joined (a list once there is one)
    user_id: int | None = None
    credential_hash: str | None = None
    _closed = False
    _chain: defer.Deferred | None = None  # the messages being handled; None when idle
    _busy = 0  # how many of them
    send_queue = _NO_SEND_QUEUE
    utf8validator = _OnFirstUse(Utf8Validator)
    _transport_details = None  # dropped once open (Autobahn reads it while connecting)
    # and every name of _DEFAULTS, set after the class

    def __init__(self):
        super().__init__()
        self.conn_id = f"{_process}:{next(_ids)}"

    # -- the per-socket state Autobahn makes -------------------------------------------------
    def _connectionMade(self) -> None:
        super()._connectionMade()
        # both are made for a socket when it needs them (sendData, _OnFirstUse)
        del self.send_queue
        del self.utf8validator

    def succeedHandshake(self, res):
        super().succeedHandshake(res)
        if self.state == WebSocketServerProtocol.STATE_OPEN:
            self._compact()

    def _compact(self) -> None:
        """The socket is open: drop the handshake, what can be read again elsewhere, and every
        value still at its class's, into a __dict__ no larger than what is left needs (a dict
        never shrinks as keys are removed)."""
        own = self.__dict__
        for name in _HANDSHAKE_ONLY:
            own.pop(name, None)
        opening = own.get("is_open")
        if opening is not None and opening.called and opening.result is None:
            del own["is_open"]  # fired: is_open reads as fired from now on
        if self._listeners is None:
            own.pop("_valid_events", None)
            own.pop("_results", None)
        if not own.get("websocket_extensions_in_use", True):
            del own["websocket_extensions_in_use"]
        if own.get("peer") is not None and own["peer"] == self._transport_peer():
            del own["peer"]
        cls = type(self)
        self.__dict__ = {name: value for name, value in own.items()
                         if not _same(value, getattr(cls, name, _MISSING))}

    @property
    def is_open(self) -> defer.Deferred:
        # Autobahn's Deferred until the socket opens; then a fired one (the socket has opened)
        opening = self.__dict__.get("is_open")
        return opening if opening is not None else defer.succeed(None)

    @is_open.setter
    def is_open(self, value) -> None:
        self.__dict__["is_open"] = value

    @property
    def peer(self) -> str | None:
        # "tcp4:<host>:<port>" as Autobahn names the peer in its log lines; an open socket
        # reads it from its transport again
        named = self.__dict__.get("peer")
        return named if named is not None else self._transport_peer()

    @peer.setter
    def peer(self, value) -> None:
        self.__dict__["peer"] = value

    def _transport_peer(self) -> str | None:
        return peer2str(self.transport) if self.transport is not None else None

    def on(self, event, handler):
        if self._results is None:  # dropped by _compact while there was no listener
            self.set_valid_events(["message"])
        return super().on(event, handler)

    @property
    def credential_revocable(self) -> bool:
        """The socket was counted under a credential that the database can revoke (a door whose
        tokens are signed, not stored, cannot have them looked up again)."""
        return self.credential_hash is not None and not getattr(self.factory.door, "signed_credentials", False)

    # -- handshake ---------------------------------------------------------------------------
    def onConnect(self, request):
        if not origin_allowed(self.factory, request.origin):
            raise ConnectionDeny(403, "origin not allowed")
        hub = self.factory.hub
        if not hub.accepting:
            raise ConnectionDeny(503, "server shutting down")
        if not hub.bus.connected:
            # a socket hears its chat through the bus: refused at once, not after a wait
            raise ConnectionDeny(503, "service temporarily unavailable")
        self.query = {k: v[0] for k, v in request.params.items() if v}
        handshake = SocketHandshake.of(request)
        d = defer.maybeDeferred(self.authorize, handshake)
        return d.addCallback(lambda _: self._admit(handshake)).addErrback(self._deny)

    def _admit(self, handshake) -> None:
        """Authorized: count the socket under its credential (at most `ws_per_credential`)."""
        registry = self.factory.hub.credential_sockets
        if self.user_id is None or handshake.credential is None or registry is None:
            return None
        self.credential_hash = token_hash(handshake.credential.token)
        if not registry.admit(self):
            self.credential_hash = None
            raise ConnectionDeny(429, "too many sockets for this credential")
        return None

    def _deny(self, failure):
        if failure.check(ConnectionDeny):
            return failure
        if is_outage(failure.value):
            log.warn("WebSocket handshake refused, a backend is unavailable: {error}",
                     error=failure.getErrorMessage())
            raise ConnectionDeny(503, "service temporarily unavailable")
        log.failure("WebSocket handshake failed", failure)
        raise ConnectionDeny(500, "internal error")

    def authorize(self, request):
        return None

    def onOpen(self):
        self._bucket = TokenBucket(self.factory.clock, self.message_rate, self.message_burst)
        self.factory.hub.opened(self)
        if self._revoke_on_open:  # revoked while the handshake was finishing
            self.credential_revoked()
            return
        self.then(self.opened)

    def opened(self):
        return None

    # -- messages ----------------------------------------------------------------------------
    def _over_rate(self) -> bool:
        """Take a token for a received frame; past the rate, close the socket (True)."""
        if self._bucket is None or self._bucket.take():
            return False
        # Autobahn lets applications close only with 1000 or 3000-4999: 4029 is "429"
        self.sendClose(code=CLOSE_RATE_LIMITED, reason="rate limit")
        self._closed = True
        return True

    def onPing(self, payload):
        # a ping costs a pong: pings count against the same rate as messages
        if self._closed or self._over_rate():
            return
        super().onPing(payload)

    def onPong(self, payload):
        if not self._closed:
            self._over_rate()

    def onMessage(self, payload, isBinary):
        if self._closed or self._over_rate():
            return
        if isBinary:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        else:
            text = payload.decode("utf-8")
        if text is not None and unstorable(text):
            text = None  # a NUL: no door stores it (Autobahn has checked the UTF-8 of text frames)
        # onMessage is synchronous: chain the work so messages keep their order
        self.then(self.received, text)

    def received(self, text):
        return None

    def then(self, work, *args) -> None:
        """Run work(*args) once what this socket was given before is handled (in order); its
        failure is logged and closes the socket. An idle socket keeps no chain."""
        chain = self._chain
        if chain is None:
            chain = self._chain = defer.succeed(None)
        self._busy += 1
        chain.addCallback(lambda _: work(*args)).addErrback(self._failed).addCallback(self._handled)

    def _handled(self, result):
        self._busy -= 1
        if not self._busy:  # idle: the class defaults (no chain, 0) say so
            del self._chain, self._busy
        return result

    def _failed(self, failure):
        log.failure("WebSocket message handling failed", failure)
        if not self._closed:
            self.sendClose(code=CLOSE_INTERNAL_ERROR, reason="internal error")
            self._closed = True

    def send_json(self, value) -> None:
        if not self._closed:
            self.sendMessage(json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace"))

    # -- bytes in and out: Autobahn's own paths, without the debug line it formats eagerly on
    # every frame (the peer, and names coloured when click is installed), which on a chat's
    # fan-out cost more than the write itself
    def dataReceived(self, data: bytes) -> None:
        self._dataReceived(data)

    def sendData(self, data, sync=False, chopsize=None):
        """Every frame goes out through here: a client that does not read while its unsent
        data passes `ws_max_buffer` is closed with 1008 (what it does not read, the server would
        keep)."""
        if not (sync or chopsize or self.send_queue or self.logOctets) and self.state == _OPEN:
            self.transport.write(data)
            self.trafficStats.outgoingOctetsWireLevel += len(data)
        else:
            if (sync or chopsize) and self.send_queue is _NO_SEND_QUEUE:
                self.send_queue = deque()  # Autobahn queues these: a queue of this socket's own
            super().sendData(data, sync, chopsize)
        limit = getattr(self.factory, "max_buffer", None)
        if limit and not self._closed and unsent_bytes(self.transport) > limit:
            self._closed = True
            log.info("WebSocket {conn} does not read ({n} bytes unsent): closed", conn=self.conn_id,
                     n=unsent_bytes(self.transport))
            # Autobahn's sendClose refuses codes below 3000 but 1000
            self.sendCloseFrame(code=CLOSE_POLICY, reasonUtf8=b"client does not read", isReply=False)

    # -- closing for the server's reasons ----------------------------------------------------
    _revoke_on_open = False

    def credential_revoked(self) -> None:
        """The credential this socket was opened with was revoked (ws/registry.py)."""
        if self.state != WebSocketServerProtocol.STATE_OPEN:
            self._revoke_on_open = True
        elif not self._closed:
            self._closed = True
            self.sendClose(code=CLOSE_CREDENTIAL_REVOKED, reason="credential revoked")

    def going_away(self) -> None:
        """The server is stopping (the hub's close_all)."""
        if not self._closed and self.state == WebSocketServerProtocol.STATE_OPEN:
            self._closed = True
            self.sendCloseFrame(code=CLOSE_GOING_AWAY, reasonUtf8=b"server shutting down", isReply=False)

    # -- hub ---------------------------------------------------------------------------------
    def join(self, channel: str):
        """Receive what is published on channel; fires when the subscription is live."""
        if not self.channels:
            self.channels = []
        self.channels.append(channel)
        return self.factory.hub.join(channel, self)

    def leave(self, channel: str) -> None:
        if channel in self.channels:
            self.channels.remove(channel)
            self.factory.hub.leave(channel, self)

    def onClose(self, wasClean, code, reason):
        self._closed = True
        # the peer's code (None when its close frame had none), else the one we sent
        self.close_code = code if code is not None else getattr(self, "localCloseCode", None)
        if self.credential_hash is not None:
            self.factory.hub.credential_sockets.remove(self)
        for channel in list(self.channels):
            self.leave(channel)
        hub = getattr(self.factory, "hub", None)
        if hub is not None:
            # messages received before the close are still being stored and published
            self.when_idle().addCallback(lambda _: hub.closed(self))
        self.closed()

    def when_idle(self) -> defer.Deferred:
        """Fires once the messages received so far have been handled."""
        chain = self._chain
        if chain is None:
            return defer.succeed(None)
        d = defer.Deferred()

        def done(result):
            if not d.called:
                d.callback(None)
            return result

        chain.addBoth(done)
        return d

    def closed(self):
        return None


for _name, _value in _DEFAULTS.items():
    setattr(DoorSocket, _name, _value)


_MISSING = object()
_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple)


def _same(value, default) -> bool:
    """value is the (immutable) default: the same object, or an equal one of the same type."""
    if value is default:
        return True
    return type(value) is type(default) and isinstance(value, _IMMUTABLE) and value == default

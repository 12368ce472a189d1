"""The base of every door's WebSocket protocol: ordering, rate limit, JSON frames, hub channels."""

from __future__ import annotations

import itertools
import json
import os

from autobahn.twisted.websocket import WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
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


class DoorSocket(WebSocketServerProtocol):
    """Subclasses implement `authorize(request)` (may return a Deferred; raise ConnectionDeny to
    refuse), `opened()` and `received(payload_text)`. Messages are handled one at a time, in order.

    The factory carries `hub`, `clock` and the services the door needs."""

    route_args: dict = {}
    # for the socket's close line (hub.closed): when it opened, and the close code
    opened_at = 0.0
    close_code = None
    # at least 20 a second with bursts of 100 (CONTRACT.md); more than that closes the socket
    message_rate = 50.0
    message_burst = 200.0

    def __init__(self):
        super().__init__()
        self.conn_id = f"{_process}:{next(_ids)}"
        self.user_id = None
        self.channels: list[str] = []
        self._chain = defer.succeed(None)
        self._bucket = None
        self._closed = False
        # the credential the socket was opened with (ws/registry.py closes it on revocation)
        self.credential_hash = None
        self.credential_revocable = False

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
        self.request_headers = request.headers
        handshake = SocketHandshake.of(request)
        d = defer.maybeDeferred(self.authorize, handshake)
        return d.addCallback(lambda _: self._admit(handshake)).addErrback(self._deny)

    def _admit(self, handshake) -> None:
        """Authorized: count the socket under its credential (at most `ws_per_credential`)."""
        registry = self.factory.hub.credential_sockets
        if self.user_id is None or handshake.credential is None or registry is None:
            return None
        self.credential_hash = token_hash(handshake.credential.token)
        # a door whose tokens are signed, not stored, cannot have them looked up again
        self.credential_revocable = not getattr(self.factory.door, "signed_credentials", False)
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
        self._chain.addCallback(lambda _: self.opened()).addErrback(self._failed)

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
        self._chain.addCallback(lambda _: self.received(text)).addErrback(self._failed)

    def received(self, text):
        return None

    def _failed(self, failure):
        log.failure("WebSocket message handling failed", failure)
        if not self._closed:
            self.sendClose(code=CLOSE_INTERNAL_ERROR, reason="internal error")
            self._closed = True

    def send_json(self, value) -> None:
        if not self._closed:
            self.sendMessage(json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace"))

    # -- closing for the server's reasons ----------------------------------------------------
    def sendData(self, data, sync=False, chopsize=None):
        """Every frame goes out through here: a client that does not read while its unsent
        data passes `ws_max_buffer` is closed with 1008 (what it does not read, the server would
        keep)."""
        super().sendData(data, sync, chopsize)
        limit = getattr(self.factory, "max_buffer", None)
        if limit and not self._closed and unsent_bytes(self.transport) > limit:
            self._closed = True
            log.info("WebSocket {conn} does not read ({n} bytes unsent): closed", conn=self.conn_id,
                     n=unsent_bytes(self.transport))
            # Autobahn's sendClose refuses codes below 3000 but 1000
            self.sendCloseFrame(code=CLOSE_POLICY, reasonUtf8=b"client does not read", isReply=False)

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
        d = defer.Deferred()

        def done(result):
            if not d.called:
                d.callback(None)
            return result

        self._chain.addBoth(done)
        return d

    def closed(self):
        return None

"""Building WebSocket factories with safe limits, and mounting them on Klein routes."""

from __future__ import annotations

from urllib.parse import urlparse

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory


class DoorFactory(WebSocketServerFactory):
    """A server factory whose sockets read their options from their class.

    Autobahn copies some thirty options (limits, timeouts, origin lists, ...) from the factory
    into every socket's __dict__ when it connects, unless the socket already has them: here
    they are class attributes of a subclass of `protocol` made for this factory (again after
    each setProtocolOptions), so an idle socket does not carry them."""

    _socket_class = None

    def setProtocolOptions(self, **options) -> None:
        super().setProtocolOptions(**options)
        self._socket_class = None

    def buildProtocol(self, addr):
        cls = self._socket_class
        if cls is None or cls.__bases__[0] is not self.protocol:
            base = self.protocol
            options = {name: getattr(self, name) for name in base.CONFIG_ATTRS}
            cls = self._socket_class = type(base.__name__, (base,), {
                "__module__": base.__module__, "__qualname__": base.__qualname__, **options})
        proto = cls()
        proto.factory = self
        return proto


def make_factory(settings, protocol, **attrs) -> WebSocketServerFactory:
    """A server factory for `protocol`; `attrs` (services, hub, ...) are set on the factory."""
    # no Server banner (Autobahn names itself and its version by default)
    factory = DoorFactory(server=None)
    factory.protocol = protocol
    factory.setProtocolOptions(
        # a plain GET is answered by the door (websocket_resource), never by Autobahn's HTML
        # status page, which names its version
        webStatus=False,
        maxMessagePayloadSize=settings.max_ws_message,
        maxFramePayloadSize=settings.max_ws_message,
        autoPingInterval=settings.ws_ping_interval or None,
        autoPingTimeout=(settings.ws_ping_interval * 2) if settings.ws_ping_interval else None,
        # the Origin allowlist is checked in DoorSocket.onConnect, to refuse with 403
        allowedOrigins=["*"],
        allowNullOrigin=True,
        openHandshakeTimeout=30,
        closeHandshakeTimeout=5,
        # send a close frame with the reason (1009 too big, 1008 policy) before dropping
        failByDrop=False,
    )
    factory.noisy = False
    # unsent bytes past which a socket that does not read is closed (DoorSocket.sendData)
    factory.max_buffer = getattr(settings, "ws_max_buffer", None)
    factory.allowed_origins = frozenset(normalize_origin(o) for o in settings.allowed_origins)
    for name, value in attrs.items():
        setattr(factory, name, value)
    return factory


def normalize_origin(origin: str) -> str:
    """scheme://host:port with the default port filled in, lower-cased."""
    parsed = urlparse(origin.strip().lower())
    if not parsed.scheme or not parsed.hostname:
        return origin.strip().lower()
    port = parsed.port or {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(parsed.scheme)
    return f"{parsed.scheme}://{parsed.hostname}:{port}"


def origin_allowed(factory, origin: str | None) -> bool:
    """No allowlist: any origin. With one: a request without Origin (not a browser) or a listed one."""
    allowed = getattr(factory, "allowed_origins", None)
    if not allowed or not origin:
        return True
    return normalize_origin(origin) in allowed


class _RouteBoundFactory:
    """Hands a route's variables to the protocol it builds (WebSocketResource only calls
    buildProtocol), without a factory per connection."""

    def __init__(self, factory, route_args: dict):
        self._factory = factory
        self._route_args = route_args

    def buildProtocol(self, addr):
        proto = self._factory.buildProtocol(addr)
        if proto is not None:
            proto.route_args = self._route_args
        return proto


class DoorWebSocketResource(WebSocketResource):
    """A WebSocketResource that answers a request without a WebSocket upgrade itself: 426 in the
    door's style (the factory's `door`), with `Upgrade: websocket`."""

    def __init__(self, factory, door=None):
        super().__init__(factory)
        self._door = door

    def render(self, request):
        if not _asks_for_websocket(request):
            request.setHeader(b"upgrade", b"websocket")
            request.setHeader(b"connection", b"Upgrade")
            if self._door is not None:
                return self._door.upgrade_required(request)
            request.setResponseCode(426)
            request.setHeader(b"content-type", b"application/json")
            return b'{"detail":"Upgrade Required"}'
        channel = request.channel
        rendered = super().render(request)
        if channel.transport is None:
            _forget_channel(channel)
        return rendered


def _forget_channel(channel) -> None:
    """The socket has taken the connection over from the HTTP channel: nothing keeps the channel
    (and its request, headers and route state) any more. Twisted's channel registered itself as
    the transport's producer, and the site lists it among its open channels (http/site.py);
    its request is never finished, so neither would let go of it."""
    transport = getattr(channel, "_networkProducer", None)
    if transport is not None and getattr(transport, "producer", None) is channel:
        transport.unregisterProducer()
    site = getattr(channel, "site", None)
    if site is not None and hasattr(site, "channel_closed"):
        site.channel_closed(channel)


def _asks_for_websocket(request) -> bool:
    upgrade = request.getHeader(b"upgrade") or b""
    return b"websocket" in upgrade.lower()


def websocket_resource(factory, **route_args) -> WebSocketResource:
    """What a Klein route returns to serve a WebSocket at its path."""
    return DoorWebSocketResource(_RouteBoundFactory(factory, route_args), getattr(factory, "door", None))

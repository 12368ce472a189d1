"""Building WebSocket factories with safe limits, and mounting them on Klein routes."""

from __future__ import annotations

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory


def make_factory(settings, protocol, **attrs) -> WebSocketServerFactory:
    """A server factory for `protocol`; `attrs` (services, hub, ...) are set on the factory."""
    factory = WebSocketServerFactory()
    factory.protocol = protocol
    factory.setProtocolOptions(
        maxMessagePayloadSize=settings.max_ws_message,
        maxFramePayloadSize=settings.max_ws_message,
        autoPingInterval=settings.ws_ping_interval or None,
        autoPingTimeout=(settings.ws_ping_interval * 2) if settings.ws_ping_interval else None,
        allowedOrigins=list(settings.allowed_origins) or ["*"],
        allowNullOrigin=not settings.allowed_origins,
        openHandshakeTimeout=30,
        closeHandshakeTimeout=5,
    )
    factory.noisy = False
    for name, value in attrs.items():
        setattr(factory, name, value)
    return factory


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


def websocket_resource(factory, **route_args) -> WebSocketResource:
    """What a Klein route returns to serve a WebSocket at its path."""
    return WebSocketResource(_RouteBoundFactory(factory, route_args))

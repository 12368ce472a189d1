"""The ceiling of the stack for WebSockets: a bare Autobahn server on twisted.web.

Any path upgrades. A text message from one socket is broadcast, as one prepared frame, to every
other socket of the same path (the room), as meetsrv does, minus the database and the bus.
"""

import sys

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor
from twisted.web import resource

from bench.baselines.bare_web import QuietSite

rooms: dict[bytes, dict] = {}


class Broadcast(WebSocketServerProtocol):
    def onConnect(self, request):
        self.room = request.path
        rooms.setdefault(self.room, {})[id(self)] = self

    def onMessage(self, payload, isBinary):
        prepared = self.factory.prepareMessage(payload, isBinary)
        me = id(self)
        for key, sock in list(rooms.get(self.room, {}).items()):
            if key != me:
                sock.sendPreparedMessage(prepared)

    def onClose(self, wasClean, code, reason):
        room = rooms.get(getattr(self, "room", None))
        if room is not None:
            room.pop(id(self), None)


class Rooms(resource.Resource):
    def __init__(self, ws):
        super().__init__()
        self.ws = ws

    def getChildWithDefault(self, name, request):
        return self.ws


if __name__ == "__main__":
    factory = WebSocketServerFactory()
    factory.protocol = Broadcast
    factory.noisy = False
    # the same limits and keepalive as meetsrv's factories (meetsrv/ws/factory.py)
    factory.setProtocolOptions(maxMessagePayloadSize=65536, maxFramePayloadSize=65536,
                               autoPingInterval=30, autoPingTimeout=60, openHandshakeTimeout=30,
                               closeHandshakeTimeout=5)
    reactor.listenTCP(int(sys.argv[1]), QuietSite(Rooms(WebSocketResource(factory))), backlog=4096,
                      interface="127.0.0.1")
    reactor.run()

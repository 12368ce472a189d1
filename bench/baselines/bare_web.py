"""The ceiling of the stack for REST: a bare twisted.web resource returning a constant."""

import sys

from twisted.internet import reactor
from twisted.web import resource, server

BODY = b'{"id":1,"login":"bench"}'


class Constant(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        return BODY


class QuietSite(server.Site):
    noisy = False

    def log(self, request):  # no access log, as meetsrv by default
        pass


if __name__ == "__main__":
    reactor.listenTCP(int(sys.argv[1]), QuietSite(Constant()), backlog=4096, interface="127.0.0.1")
    reactor.run()

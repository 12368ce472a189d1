"""A bare Klein route returning a constant (what meetsrv's doors are built on)."""

import sys

from klein import Klein
from twisted.internet import reactor

from bench.baselines.bare_web import BODY, QuietSite

app = Klein()


@app.route("/v1/info", strict_slashes=False)
def info(request):
    request.setHeader(b"content-type", b"application/json; charset=utf-8")
    return BODY


if __name__ == "__main__":
    reactor.listenTCP(int(sys.argv[1]), QuietSite(app.resource()), backlog=4096, interface="127.0.0.1")
    reactor.run()

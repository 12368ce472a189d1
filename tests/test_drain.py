"""Stopping with SIGTERM (`twistd -n meetsrv` as a process): the port closes, requests in flight
finish (within --drain-timeout), sockets are closed with 1001 (going away), then the process
exits."""

from __future__ import annotations

import json

import pytest_twisted
from twisted.internet import defer, protocol

from tests.clients.base import parse_responses
from tests.support.process import TwistdProcess, free_port
from tests.support.waiting import until


class _Raw(protocol.Protocol):
    def __init__(self):
        self.received = b""
        self.closed = defer.Deferred()

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.closed.callback(self.received)


async def _connect(port: int) -> _Raw:
    from twisted.internet import reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    raw = _Raw()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=5), raw)
    return raw


@pytest_twisted.ensureDeferred
async def test_sigterm_lets_requests_in_flight_finish_then_closes_sockets_going_away(tmp_path, http, ws):
    from twisted.internet import reactor
    from twisted.internet.error import ConnectError

    port = free_port()
    proc = TwistdProcess(["--port", f"tcp:{port}:interface=127.0.0.1", "--drain-timeout", "3"],
                         cwd=str(tmp_path)).spawn()
    try:
        await proc.started()
        assert "open file limit" in proc.output
        base = f"http://127.0.0.1:{port}"
        a = (await http.post(base + "/v1/register", json_body={"login": "ann", "password": "pw"})).json["session_id"]
        b = (await http.post(base + "/v1/register", json_body={"login": "ben", "password": "pw"})).json["session_id"]
        ben = (await http.get(base + "/v1/info", headers={"X-Session-Id": b})).json
        room = (await http.post(base + "/v1/rooms", json_body={"users": [ben]}, headers={"X-Session-Id": a})).json
        sock = await ws(f"ws://127.0.0.1:{port}/v1/rooms/{room['id']}/chat?session_id={a}")
        # two requests in flight: one will finish, one never will
        body = json.dumps({"login": "cleo", "password": "pw"}).encode()
        # Expect: 100-continue: the server says when it has read the headers
        head = (b"POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        finishing = await _connect(port)
        finishing.transport.write(head + body[:5])
        stuck = await _connect(port)
        stuck.transport.write(head + body[:5])
        await until(lambda: b"100 Continue" in finishing.received and b"100 Continue" in stuck.received)

        proc.transport.signalProcess("TERM")
        await proc.wait_for("2 request(s) in flight may finish")
        # no new connections
        try:
            await _connect(port)
            raise AssertionError("the port still accepts connections")
        except ConnectError:
            pass
        # the request in flight is answered, and told the connection closes
        finishing.transport.write(body[5:])
        raw = await finishing.closed.addTimeout(5, reactor)
        (answer,) = parse_responses(raw[raw.index(b"\r\n\r\n") + 4:])  # after the 100 Continue
        assert answer.code == 200 and "session_id" in answer.json
        assert answer.header("connection") == "close"
        assert not sock.proto.closed.called  # sockets close after the requests
        # the one that never finishes is cut at the drain deadline; then sockets close, 1001
        assert (await stuck.closed.addTimeout(10, reactor)).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        assert await sock.wait_closed() == 1001
        await proc.ended(timeout=15)
    finally:
        await proc.stop()
    assert "Server Shut Down." in proc.output and "Traceback" not in proc.output, proc.output

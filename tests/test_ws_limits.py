"""WebSocket safety limits shared by every door: origin allowlist, message size, message rate."""

from __future__ import annotations

import pytest
import pytest_twisted

from tests.clients.base import HandshakeRefused


async def _room(http, server):
    a = (await http.post(server.url + "/v1/register", json_body={"login": "a", "password": "p"})).json["session_id"]
    b = (await http.post(server.url + "/v1/register", json_body={"login": "b", "password": "p"})).json["session_id"]
    bob = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": b})).json
    room = (await http.post(server.url + "/v1/rooms", json_body={"users": [bob]}, headers={"X-Session-Id": a})).json
    return f"{server.ws_url}/v1/rooms/{room['id']}/chat", a, b


@pytest_twisted.ensureDeferred
async def test_origin_allowlist(start_server, http, ws):
    server = await start_server(allowed_origins=("https://app.example.com:443",))
    url, a, _ = await _room(http, server)
    with pytest.raises(HandshakeRefused) as refused:
        await ws(f"{url}?session_id={a}", headers={"Origin": "https://evil.example.com"})
    assert refused.value.status == 403
    sock = await ws(f"{url}?session_id={a}", headers={"Origin": "https://app.example.com"})
    sock.send_json({"text": "ok"})
    # a client without an Origin header (not a browser) is let in too
    await ws(f"{url}?session_id={a}")


@pytest_twisted.ensureDeferred
async def test_message_over_the_size_limit_closes_the_socket(start_server, http, ws):
    server = await start_server(max_ws_message=1024)
    url, a, b = await _room(http, server)
    sender = await ws(f"{url}?session_id={a}")
    listener = await ws(f"{url}?session_id={b}")
    sender.send_json({"text": "x" * 5000})
    code = await sender.wait_closed()
    assert code == 1009
    # nothing was stored or delivered
    r = await http.get(url.replace("ws://", "http://").replace("/chat", "/messages"), headers={"X-Session-Id": b})
    assert r.json == [] and listener.pending() == 0


@pytest_twisted.ensureDeferred
async def test_message_rate_limit_allows_bursts_of_100_then_closes(start_server, http, ws, clock):
    server = await start_server(clock=clock)
    url, a, b = await _room(http, server)
    sender = await ws(f"{url}?session_id={a}")
    listener = await ws(f"{url}?session_id={b}")
    for i in range(100):
        sender.send_json({"text": f"m{i}"})
    for i in range(100):
        assert (await listener.next_json())["text"] == f"m{i}"
    clock.advance(1)  # 20 a second is always allowed
    for i in range(20):
        sender.send_json({"text": f"n{i}"})
    for i in range(20):
        assert (await listener.next_json())["text"] == f"n{i}"
    # a flood without time passing is cut off
    for _ in range(300):
        sender.send_json({"text": "flood"})
    assert await sender.wait_closed() == 4029


@pytest_twisted.ensureDeferred
async def test_stopping_the_server_finishes_received_messages_then_closes_sockets(start_server, http, ws):
    server = await start_server()
    url, a, b = await _room(http, server)
    room_path = url[len(server.ws_url):]  # /v1/rooms/<id>/chat
    sender = await ws(f"{url}?session_id={a}")
    listener = await ws(f"{url}?session_id={b}")
    for i in range(30):
        sender.send_json({"text": f"m{i}"})
    assert (await listener.next_json())["text"] == "m0"  # the server is handling them
    await server.stop()
    # 1001: going away
    assert await sender.wait_closed() == 1001
    assert await listener.wait_closed() == 1001
    # every message the server had received was stored before it went away, in order
    again = await start_server()
    r = await http.get(again.url + room_path.replace("/chat", "/messages"), headers={"X-Session-Id": a})
    texts = [m["text"] for m in r.json]
    assert r.code == 200 and texts == [f"m{i}" for i in range(len(texts))] and len(texts) >= 1, texts


@pytest_twisted.ensureDeferred
async def test_an_open_socket_keeps_neither_its_http_channel_nor_its_handshake(start_server, http, ws):
    """A socket lives for hours: what only its handshake needed (the HTTP channel and request,
    the parsed headers) is let go once it is open, and it still works as before."""
    server = await start_server()
    url, a, b = await _room(http, server)
    sender = await ws(f"{url}?session_id={a}")
    listener = await ws(f"{url}?session_id={b}")
    # the channels that became sockets are no longer listed by the site (drain, busy) ...
    assert all(channel.transport is not None for channel in server.site.channels)
    opened = list(server.services.hub._open.values())
    assert len(opened) == 2
    for sock in opened:
        # ... nor kept as the producer of the connection they handed over
        assert sock.transport.producer is None
        assert not {"http_headers", "http_request_data", "query", "maxMessagePayloadSize"} & set(vars(sock))
        assert sock.peer.startswith("tcp4:127.0.0.1:") and sock.is_open.called
    sender.send_json({"text": "still here"})
    assert (await listener.next_json())["text"] == "still here"
    listener.send_json({"text": "и обратно"})  # a text frame: the UTF-8 validator is made when needed
    assert (await sender.next_json())["text"] == "и обратно"

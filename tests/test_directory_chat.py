"""The directory lobby chat: WebSocket /ws/chat/ with a JWT, and its stored history."""

from __future__ import annotations

import pytest
import pytest_twisted

from tests.clients.base import HandshakeRefused
from tests.clients.directory import auth, member
from tests.support.backends import REDIS


@pytest_twisted.ensureDeferred
async def test_lobby_chat_delivers_to_everyone_and_stores(server, http, ws):
    ann, ann_token = await member(http, server, "ann@example.com")
    bob, bob_token = await member(http, server, "bob@example.com")
    carl, carl_token = await member(http, server, "carl@example.com")
    a = await ws(server.ws_url + "/ws/chat/", headers={"authorization": ann_token})  # bare JWT, as upstream
    b = await ws(server.ws_url + "/ws/chat/", headers={"Authorization": f"Bearer {bob_token}"})
    c = await ws(server.ws_url + f"/ws/chat/?token={carl_token}")  # browsers
    a.send_json({"message": "Привет всем"})
    for sock in (a, b, c):
        assert await sock.next_json() == {"id": 1, "user": "ann@example.com", "message": "Привет всем"}
    b.send_json({"message": "hi"})
    for sock in (a, b, c):
        assert await sock.next_json() == {"id": 2, "user": "bob@example.com", "message": "hi"}

    # bad frames get an error frame and are not stored
    for bad in ('{"text": "x"}', "not json", '{"message": 5}', '{"message": ""}', "[1]"):
        a.send_text(bad)
        assert "error" in await a.next_json()
    a.send_json({"message": "third"})
    assert (await a.next_json())["message"] == "third"
    assert (await b.next_json())["message"] == "third"

    r = await http.get(server.url + "/api/chat/messages/", headers=auth(carl_token))
    assert r.code == 200
    page = r.json
    assert page["count"] == 3 and page["next"] is None and page["previous"] is None
    assert [(m["user"], m["message"]) for m in page["results"]] == [
        ("ann@example.com", "third"), ("bob@example.com", "hi"), ("ann@example.com", "Привет всем")]
    assert set(page["results"][0]) == {"id", "user", "message", "created"}
    assert page["results"][0]["id"] > page["results"][1]["id"]
    r = await http.get(server.url + "/api/chat/messages/?limit=1&offset=1", headers=auth(carl_token))
    assert [m["message"] for m in r.json["results"]] == ["hi"]
    assert "offset=2" in r.json["next"] and r.json["previous"].endswith("limit=1")


@pytest.mark.parametrize("how", ["none", "garbage", "refresh"])
@pytest_twisted.ensureDeferred
async def test_lobby_refuses_without_a_valid_access_token(server, http, ws, how):
    await member(http, server, "ann@example.com")
    r = await http.post(server.url + "/api/user/sign-in/", json_body={"email": "ann@example.com", "password": "s3cret-pass"})
    headers = {"none": {}, "garbage": {"authorization": "Bearer abc.def.ghi"},
               "refresh": {"authorization": r.json["refresh"]}}[how]
    with pytest.raises(HandshakeRefused) as refused:
        await ws(server.ws_url + "/ws/chat/", headers=headers)
    assert refused.value.status == 401


@pytest.mark.skipif(not REDIS, reason="two processes share a chat only through Redis (MEETSRV_TEST_REDIS)")
@pytest_twisted.ensureDeferred
async def test_lobby_across_two_processes(start_server, http, ws):
    one = await start_server()
    two = await start_server()
    _, ann_token = await member(http, one, "ann@example.com")
    _, bob_token = await member(http, two, "bob@example.com")
    a = await ws(one.ws_url + "/ws/chat/", headers={"authorization": ann_token})
    b = await ws(two.ws_url + "/ws/chat/", headers={"authorization": bob_token})
    b.send_json({"message": "from two"})
    assert await a.next_json() == {"id": 1, "user": "bob@example.com", "message": "from two"}
    assert await b.next_json() == {"id": 1, "user": "bob@example.com", "message": "from two"}

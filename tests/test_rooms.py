"""The rooms door (seed 004) through a real port."""

from __future__ import annotations

import pytest
import pytest_twisted

from tests.clients.base import HandshakeRefused
from tests.clients.rooms import auth, register


@pytest_twisted.ensureDeferred
async def test_register_login_info_logout(server, http):
    session = await register(http, server, "Василий")
    r = await http.get(server.url + "/v1/info", headers=auth(session))
    assert r.code == 200
    assert r.json == {"id": r.json["id"], "login": "Василий"}

    r = await http.post(server.url + "/v1/login", json_body={"login": "Василий", "password": "secret"})
    assert r.code == 200
    second = r.json["session_id"]
    assert second != session
    # one session at a time: the login ended the first one
    r = await http.get(server.url + "/v1/info", headers=auth(session))
    assert r.code == 401 and r.json == {"error": {"code": "unauthorized"}}

    r = await http.post(server.url + "/v1/logout/", json_body={}, headers=auth(second))
    assert (r.code, r.json) == (200, {})
    r = await http.get(server.url + "/v1/info/", headers=auth(second))
    assert r.code == 401


@pytest_twisted.ensureDeferred
async def test_account_errors(server, http):
    await register(http, server, "petr")
    url = server.url
    r = await http.post(url + "/v1/register", json_body={"login": "petr", "password": "x"})
    assert (r.code, r.json) == (422, {"error": {"code": "user_already_exists"}})
    r = await http.post(url + "/v1/login", json_body={"login": "nobody", "password": "x"})
    assert (r.code, r.json) == (422, {"error": {"code": "user_not_found"}})
    r = await http.post(url + "/v1/login", json_body={"login": "petr", "password": "wrong"})
    assert (r.code, r.json) == (422, {"error": {"code": "wrong_credentials"}})
    for body in (b"not json", b"[1,2]", b'{"login": "a"}', b'{"login": 1, "password": "x"}', b""):
        for path in ("/v1/login", "/v1/register"):
            r = await http.post(url + path, data=body, headers={"Content-Type": "application/json"})
            assert (r.code, r.json) == (422, {"error": {"code": "invalid_json"}}), (path, body)
    # nothing was created by the refused requests
    r = await http.post(url + "/v1/login", json_body={"login": "a", "password": "x"})
    assert r.json == {"error": {"code": "user_not_found"}}


@pytest.mark.parametrize("path", ["/v1/info", "/v1/users?q=a", "/v1/rooms", "/v1/rooms/1", "/v1/rooms/1/messages"])
@pytest_twisted.ensureDeferred
async def test_missing_and_bad_session(server, http, path):
    r = await http.get(server.url + path)
    assert (r.code, r.json) == (401, {"error": {"code": "unauthorized"}})
    r = await http.get(server.url + path, headers=auth("3da541559918a808c2402bba5012f6c60b27661c"))
    assert (r.code, r.json) == (401, {"error": {"code": "unauthorized"}})


@pytest_twisted.ensureDeferred
async def test_user_search_is_case_insensitive_for_cyrillic(server, http):
    s = await register(http, server, "Вася")
    await register(http, server, "ВАСИЛИСА")
    await register(http, server, "Петя")
    r = await http.get(server.url + "/v1/users/", params={"q": "вас"}, headers=auth(s))
    assert r.code == 200
    assert sorted(u["login"] for u in r.json) == ["ВАСИЛИСА", "Вася"]
    r = await http.get(server.url + "/v1/users", headers=auth(s))
    assert r.json == []
    r = await http.get(server.url + "/v1/users", params={"q": "%"}, headers=auth(s))
    assert r.json == []


@pytest_twisted.ensureDeferred
async def test_rooms_create_dedup_list_and_info(server, http):
    vasya = await register(http, server, "Василий")
    petr = await register(http, server, "Петр")
    ivan = await register(http, server, "Иван")
    me = (await http.get(server.url + "/v1/info", headers=auth(vasya))).json
    petr_user = (await http.get(server.url + "/v1/info", headers=auth(petr))).json
    ivan_user = (await http.get(server.url + "/v1/info", headers=auth(ivan))).json

    r = await http.post(server.url + "/v1/rooms", json_body={"users": [petr_user]}, headers=auth(vasya))
    assert r.code == 200
    room = r.json
    assert room["users"] == sorted([me, petr_user], key=lambda u: u["id"])

    # the same member set, from the other side, is the same room
    r = await http.post(server.url + "/v1/rooms/", json_body={"users": [me]}, headers=auth(petr))
    assert r.json["id"] == room["id"]
    # a superset is a new room
    r = await http.post(server.url + "/v1/rooms", json_body={"users": [petr_user, ivan_user]}, headers=auth(vasya))
    assert r.json["id"] != room["id"]
    big = r.json

    r = await http.get(server.url + "/v1/rooms", headers=auth(vasya))
    assert sorted(x["id"] for x in r.json) == sorted([room["id"], big["id"]])
    r = await http.get(server.url + "/v1/rooms", headers=auth(ivan))
    assert [x["id"] for x in r.json] == [big["id"]]

    r = await http.get(server.url + f"/v1/rooms/{room['id']}", headers=auth(petr))
    assert r.code == 200 and r.json["id"] == room["id"] and len(r.json["users"]) == 2
    # not a member, or no such room
    for rid in (room["id"], 999999, "abc"):
        r = await http.get(server.url + f"/v1/rooms/{rid}", headers=auth(ivan))
        assert (r.code, r.json) == (422, {"error": {"code": "room_not_found"}})
        r = await http.get(server.url + f"/v1/rooms/{rid}/messages", headers=auth(ivan))
        assert (r.code, r.json) == (422, {"error": {"code": "room_not_found"}})


@pytest_twisted.ensureDeferred
async def test_create_room_errors(server, http):
    s = await register(http, server, "a")
    for body in ({}, {"users": "x"}, {"users": [1]}, {"users": [{"login": "x"}]}, {"users": [{"id": "1"}]}, [1]):
        r = await http.post(server.url + "/v1/rooms", json_body=body, headers=auth(s))
        assert (r.code, r.json) == (422, {"error": {"code": "invalid_json"}}), body
    r = await http.post(server.url + "/v1/rooms", json_body={"users": [{"id": 424242, "login": "x"}]}, headers=auth(s))
    assert (r.code, r.json) == (422, {"error": {"code": "user_not_found"}})
    # a member id past what a database integer holds names no user (never a server error)
    for big in (2**63, -(2**63) - 1, 10**30):
        r = await http.post(server.url + "/v1/rooms", json_body={"users": [{"id": big}]}, headers=auth(s))
        assert (r.code, r.json) == (422, {"error": {"code": "user_not_found"}}), big
    r = await http.get(server.url + "/v1/rooms", headers=auth(s))
    assert r.json == []
    # digits that are not ASCII ("²" passes str.isdigit(), not int()) name no room, no message
    r = await http.get(server.url + "/v1/rooms/%C2%B2/", headers=auth(s))
    assert (r.code, r.json) == (422, {"error": {"code": "room_not_found"}})
    r = await http.get(server.url + "/v1/rooms/1/messages/?before=%C2%B2", headers=auth(s))
    assert (r.code, r.json) == (422, {"error": {"code": "invalid_before"}})


@pytest_twisted.ensureDeferred
async def test_unknown_path_and_method(server, http):
    r = await http.get(server.url + "/v1/nothing")
    assert r.code == 404 and r.json == {"error": {"code": "not_found"}}
    r = await http.delete(server.url + "/v1/rooms")
    assert r.code == 405 and r.json == {"error": {"code": "method_not_allowed"}}
    r = await http.get(server.url + "/nowhere/at/all")
    assert r.code == 404 and r.headers.getRawHeaders("content-type")[0].startswith("application/json")


@pytest_twisted.ensureDeferred
async def test_body_over_limit_is_refused(start_server, http):
    server = await start_server(max_body=1000)
    r = await http.post(server.url + "/v1/register", data=b"x" * 5000, headers={"Content-Type": "application/json"})
    assert r.code == 413


async def _two_users_in_a_room(http, server):
    a = await register(http, server, "alice")
    b = await register(http, server, "bob")
    bob = (await http.get(server.url + "/v1/info", headers=auth(b))).json
    room = (await http.post(server.url + "/v1/rooms", json_body={"users": [bob]}, headers=auth(a))).json
    return a, b, room


@pytest_twisted.ensureDeferred
async def test_websocket_chat_and_history(server, http, ws):
    a, b, room = await _two_users_in_a_room(http, server)
    alice = (await http.get(server.url + "/v1/info", headers=auth(a))).json
    bob = (await http.get(server.url + "/v1/info", headers=auth(b))).json
    url = f"{server.ws_url}/v1/rooms/{room['id']}/chat"
    sock_a = await ws(f"{url}?session_id={a}")
    sock_b = await ws(f"{url}/?session_id={b}")

    sock_a.send_json({"text": "Привет"})
    got = await sock_b.next_json()
    assert got["text"] == "Привет" and got["user_id"] == alice["id"] and got["room_id"] == room["id"]
    assert isinstance(got["id"], int) and len(got["created_at"]) == 19

    sock_b.send_json({"text": "И тебе привет"})
    got_a = await sock_a.next_json()
    assert got_a["text"] == "И тебе привет"
    # no echo to the sending socket: alice got bob's message and nothing of her own
    assert sock_a.pending() == 0 and sock_b.pending() == 0

    # a bad frame gets an error and changes nothing
    sock_a.send_text("not json")
    assert await sock_a.next_json() == {"error": {"code": "invalid_json"}}

    r = await http.get(server.url + f"/v1/rooms/{room['id']}/messages", headers=auth(b))
    assert r.code == 200
    assert [(m["text"], m["user_id"]) for m in r.json] == [("Привет", alice["id"]), ("И тебе привет", bob["id"])]
    assert set(r.json[0]) == {"id", "text", "user_id", "room_id", "created_at"}


@pytest_twisted.ensureDeferred
async def test_history_is_newest_50_with_before(server, http, ws):
    a, b, room = await _two_users_in_a_room(http, server)
    sock = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat?session_id={a}")
    listener = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat?session_id={b}")
    for i in range(60):
        sock.send_json({"text": f"m{i}"})
    for i in range(60):
        assert (await listener.next_json())["text"] == f"m{i}"  # in order
    r = await http.get(server.url + f"/v1/rooms/{room['id']}/messages", headers=auth(a))
    texts = [m["text"] for m in r.json]
    assert texts == [f"m{i}" for i in range(10, 60)]
    r = await http.get(server.url + f"/v1/rooms/{room['id']}/messages", params={"before": str(r.json[0]["id"])}, headers=auth(a))
    assert [m["text"] for m in r.json] == [f"m{i}" for i in range(10)]


@pytest_twisted.ensureDeferred
async def test_websocket_handshake_refusals(server, http, ws):
    a, b, room = await _two_users_in_a_room(http, server)
    c = await register(http, server, "carol")
    base = f"{server.ws_url}/v1/rooms/{room['id']}/chat"
    for url, status in (
        (base, 401),
        (base + "?session_id=nope", 401),
        (base + f"?session_id={c}", 422),
        (f"{server.ws_url}/v1/rooms/999999/chat?session_id={a}", 422),
    ):
        with pytest.raises(HandshakeRefused) as refused:
            await ws(url)
        assert refused.value.status == status, (url, refused.value.reason)


@pytest_twisted.ensureDeferred
async def test_an_unexpected_error_answers_json_500_and_the_server_goes_on(server, http):
    s = await register(http, server, "a")

    def broken(user_id):
        raise RuntimeError("boom")

    original = server.services.rooms.list
    server.services.rooms.list = broken
    try:
        r = await http.get(server.url + "/v1/rooms", headers=auth(s))
    finally:
        server.services.rooms.list = original
    assert r.code == 500 and r.json == {"detail": "Internal server error."}
    assert b"boom" not in r.body and b"Traceback" not in r.body
    r = await http.get(server.url + "/v1/rooms", headers=auth(s))
    assert (r.code, r.json) == (200, [])

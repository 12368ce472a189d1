"""Hostile input, one class at a time, through a real port: each door refuses it in its own
style, changes nothing and logs no failure (tests/test_fuzz.py throws all of them at every
endpoint; these pin down each class's answer)."""

from __future__ import annotations

import json

import pytest
import pytest_twisted

from meetsrv.http.body import MAX_JSON_DEPTH, BodyError, parse_json
from meetsrv.http.models import ascii_float, ascii_int, id_value, text_problem
from tests.clients.base import HandshakeRefused
from tests.support import hostile

DEEP = ("[" * 30_000 + "]" * 30_000).encode()
NESTED_33 = json.dumps({"login": json.loads("[" * 32 + "]" * 32)}).encode()


@pytest.fixture
def failures():
    """Failures the server logs while the test runs."""
    from twisted.logger import globalLogPublisher

    seen = []

    def observe(event):
        if event.get("log_failure") is not None:
            seen.append(event["log_failure"].getTraceback())

    globalLogPublisher.addObserver(observe)
    yield seen
    globalLogPublisher.removeObserver(observe)


async def rooms_user(http, server, login):
    r = await http.post(server.url + "/v1/register/", json_body={"login": login, "password": "pw-123456"})
    assert r.code == 200, r
    session = r.json["session_id"]
    me = await http.get(server.url + "/v1/info/", headers={"X-Session-Id": session})
    return me.json["id"], {"X-Session-Id": session}


async def post_raw(http, url, body: bytes, content_type="application/json", headers=None):
    return await http.post(url, data=body, headers={"Content-Type": content_type, **(headers or {})})


async def table_counts(server) -> dict:
    from meetsrv.store.tables import metadata

    def read(t):
        out = {}
        for table in metadata.sorted_tables:
            t.cursor.execute(f'SELECT COUNT(*) FROM "{table.name}"')
            out[table.name] = t.cursor.fetchone()[0]
        return out

    return await server.db.interact("test.counts", read)


# -- JSON nested deeper than any door reads -------------------------------------------------------

def test_json_depth_and_constants_at_the_toolkit():
    assert parse_json(("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode()) is not None
    for raw in (("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode(), DEEP,
                b'{"lat": NaN}', b"[Infinity]", b"-Infinity"):
        with pytest.raises(BodyError):
            parse_json(raw)


@pytest_twisted.ensureDeferred
async def test_deep_json_bodies_are_refused_in_every_doors_style(server, http, failures):
    before = await table_counts(server)
    for body in (DEEP, NESTED_33):
        r = await post_raw(http, server.url + "/v1/register/", body)
        assert (r.code, r.json) == (422, {"error": {"code": "invalid_json"}})
        r = await post_raw(http, server.url + "/api-token-auth/", body)
        assert r.code == 400 and r.json["detail"].startswith("JSON parse error")
        r = await post_raw(http, server.url + "/api/auth/code/", body)
        assert r.code == 400 and r.json["detail"].startswith("JSON parse error")
        r = await post_raw(http, server.url + "/api/user/sign-in/", body)
        assert r.code == 400 and "JSON" in r.json["detail"]
        r = await post_raw(http, server.url + "/accounts/login/", body)
        assert (r.code, r.json) == (200, {"error": 1, "error_msg": "Invalid JSON"})
        r = await post_raw(http, server.url + "/admin/login", body)
        assert r.code == 400
    r = await post_raw(http, server.url + "/api/user/sign-in/", NESTED_33)
    assert r.json == {"detail": f"JSON nested deeper than {MAX_JSON_DEPTH} levels"}
    assert await table_counts(server) == before
    assert failures == []


@pytest_twisted.ensureDeferred
async def test_deep_json_frames_are_answered_and_the_socket_stays_open(server, http, ws, failures):
    alice, alice_auth = await rooms_user(http, server, "alice")
    bob, _ = await rooms_user(http, server, "bob")
    room = (await http.post(server.url + "/v1/rooms/", json_body={"users": [{"id": bob}]}, headers=alice_auth)).json
    sock = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat/?session_id={alice_auth['X-Session-Id']}")
    for frame in (DEEP.decode(), NESTED_33.decode(), '{"text": NaN}'):
        sock.send_text(frame)
        assert await sock.next_json() == {"error": {"code": "invalid_json"}}
    sock.send_json({"text": "still here", "client_id": "c1"})
    assert (await sock.next_json())["ack"] == "c1"
    assert failures == []


# -- numbers in other than ASCII digits ----------------------------------------------------------

def test_ascii_numbers_at_the_toolkit():
    for text in ("²", "٣", "１２", "1_000", "𝟙", "", "+", "1e3"):
        assert ascii_int(text) is None, text
    assert (ascii_int(" 12 "), ascii_int("-3"), ascii_int("-3", signed=False)) == (12, -3, None)
    for text in ("١٢", "nan", "Infinity", "1_0.5", "1e999"):
        assert ascii_float(text) is None, text
    assert (ascii_float("55.75"), ascii_float("-.5"), ascii_float("1e2")) == (55.75, -0.5, 100.0)


@pytest_twisted.ensureDeferred
async def test_non_ascii_digits_are_no_numbers_at_any_door(server, http, ws, failures):
    from tests.clients.phone import PHONES, sign_up
    from tests.clients.social import login

    alice, alice_auth = await rooms_user(http, server, "alice")  # user 1
    bob, _ = await rooms_user(http, server, "bob")
    room = (await http.post(server.url + "/v1/rooms/", json_body={"users": [{"id": bob}]}, headers=alice_auth)).json
    assert room["id"] == 1 and alice == 1
    # '١' is ARABIC-INDIC DIGIT ONE: int() reads it as 1, yet it is no id; '²' passes isdigit()
    for raw in ("%D9%A1", "%C2%B2"):
        r = await http.get(server.url + f"/v1/rooms/{raw}/", headers=alice_auth)
        assert (r.code, r.json) == (422, {"error": {"code": "room_not_found"}}), raw
        r = await http.get(server.url + f"/v1/rooms/1/messages/?before={raw}", headers=alice_auth)
        assert (r.code, r.json) == (422, {"error": {"code": "invalid_before"}}), raw
    with pytest.raises(HandshakeRefused) as refused:
        await ws(f"{server.ws_url}/v1/rooms/1/chat/?session_id={alice_auth['X-Session-Id']}&after=%C2%B2")
    assert refused.value.status == 400

    social, _ = await login(http, server, 7)
    r = await http.get(server.url + "/user-detail/%D9%A1/", headers={"Authorization": f"Token {social}"})
    assert (r.code, r.json) == (404, {"detail": "Not found."})

    _, phone = await sign_up(http, server, PHONES[0])
    r = await http.get(server.url + "/api/users/?users=%C2%B2", headers={"Authorization": f"Token {phone}"})
    assert (r.code, r.json) == (400, {"users": ["A valid integer is required."]})

    campus = await http.post(server.url + "/accounts/signup/", json_body={"username": "carl", "password": "pw"})
    token = {"Authorization": "Token " + campus.headers.getRawHeaders("set-cookie")[0].split(";")[0].split("=")[1]}
    r = await http.get(server.url + "/api/profile/GetProfile?user_id=%D9%A1", headers=token)
    assert r.json == {"error": 1, "error_msg": "User profile does not exist"}
    r = await http.post(server.url + "/api/events/CreateEvent", headers=token,
                        json_body={"name": "x", "time_from": "١٢٣", "time_to": "2000000000"})
    assert r.json == {"error": 1, "error_msg": "invalid literal for int() with base 10: '١٢٣'"}
    assert failures == []


# -- ids past the id columns ---------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_ids_past_the_id_columns_name_nothing(server, http, failures):
    from tests.clients.phone import PHONES, sign_up
    from tests.clients.social import login

    assert [id_value(v) for v in (0, 2**31 - 1, 2**31, 2**63, True, "7", "٧")] == [None, 2**31 - 1, None, None, None, 7, None]
    _, alice_auth = await rooms_user(http, server, "alice")
    for big in (2**31, 2**63, 2**64, 10**30):
        r = await http.post(server.url + "/v1/rooms/", json_body={"users": [{"id": big}]}, headers=alice_auth)
        assert (r.code, r.json) == (422, {"error": {"code": "user_not_found"}}), big
    r = await http.get(server.url + "/v1/rooms/9223372036854775808/", headers=alice_auth)
    assert (r.code, r.json) == (422, {"error": {"code": "room_not_found"}})

    social, _ = await login(http, server, 7)
    r = await http.get(server.url + "/user-detail/9223372036854775808/", headers={"Authorization": f"Token {social}"})
    assert r.json["status"] == 400 and r.json["msg"] == "User does not exist"

    _, phone = await sign_up(http, server, PHONES[0])
    r = await http.get(server.url + "/api/users/9223372036854775808/", headers={"Authorization": f"Token {phone}"})
    assert (r.code, r.json) == (404, {"detail": "Not found."})

    campus = await http.post(server.url + "/accounts/signup/", json_body={"username": "carl", "password": "pw"})
    token = {"Authorization": "Token " + campus.headers.getRawHeaders("set-cookie")[0].split(";")[0].split("=")[1]}
    for big in (2**63, 2**64, "9223372036854775808"):
        r = await http.post(server.url + "/api/friends/SendFriendRequest", headers=token, json_body={"user_id": big})
        assert r.json == {"error": 1, "error_msg": "User profile does not exist"}, big
    assert failures == []


# -- text no database stores: NUL and lone surrogates --------------------------------------------

def test_text_problems_at_the_toolkit():
    assert text_problem({"a": ["ok", {"k": "a\x00b"}]})[0] == "null_characters"
    assert text_problem(["\ud800"]) == ("surrogate_characters", "Surrogate characters are not allowed: U+D800.",
                                        {"code_point": "D800"})
    assert text_problem({"emoji": "🙂", "n": 1, "b": b"\x00"}) is None


@pytest_twisted.ensureDeferred
async def test_nul_and_lone_surrogates_are_refused_in_bodies_queries_and_paths(server, http, failures):
    from tests.clients.phone import PHONES, sign_up
    from tests.clients.social import login

    _, alice_auth = await rooms_user(http, server, "alice")
    social, _ = await login(http, server, 7)
    social_auth = {"Authorization": f"Token {social}"}
    _, phone = await sign_up(http, server, PHONES[0])
    campus = await http.post(server.url + "/accounts/signup/", json_body={"username": "carl", "password": "pw"})
    campus_auth = {"Authorization": "Token " + campus.headers.getRawHeaders("set-cookie")[0].split(";")[0].split("=")[1]}
    before = await table_counts(server)

    # JSON (escapes: json.dumps writes them as \u0000 and \ud800)
    for login_name in ("a\x00b", "\ud800"):
        r = await http.post(server.url + "/v1/register/", json_body={"login": login_name, "password": "pw"})
        assert (r.code, r.json) == (422, {"error": {"code": "invalid_json"}})
    r = await http.put(server.url + "/user-detail/", headers=social_auth, json_body={"about": "x\ud800"})
    assert (r.code, r.json) == (400, {"about": ["Surrogate characters are not allowed: U+D800."]})
    r = await http.post(server.url + "/api/user/sign-up/", json_body={"email": "a\x00@b.cd", "password": "pw-123456"})
    assert (r.code, r.json) == (400, {"email": ["Null characters are not allowed."]})
    r = await http.post(server.url + "/api/profile/UpdateProfileInfo", headers=campus_auth, json_body={"bio": "\x00"})
    assert r.json == {"error": 1, "error_msg": "Null characters are not allowed."}
    # a form, and a field of the door's own words (firs_name)
    r = await http.patch(server.url + "/api/account/", data=b"name=a%00b", headers={
        "Authorization": f"Token {phone}", "Content-Type": "application/x-www-form-urlencoded"})
    assert (r.code, r.json) == (400, {"name": ["Null characters are not allowed."]})
    r = await http.put(server.url + "/user-detail/", data=b"firs_name=%00", headers={
        **social_auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert (r.code, r.json) == (400, {"firs_name": ["Null characters are not allowed."]})
    # queries
    r = await http.get(server.url + "/v1/users/?q=%00", headers=alice_auth)
    assert (r.code, r.json) == (422, {"error": {"code": "invalid_json"}})
    r = await http.get(server.url + "/api/events/GetEvents?name=ab%00c")
    assert r.json == {"error": 1, "error_msg": "Null characters are not allowed."}
    # paths: no route's value holds NUL
    r = await http.put(server.url + "/upload-photo/a%00.png", data=b"x", headers=social_auth)
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.get(server.url + "/v1/rooms/1%00/", headers=alice_auth)
    assert (r.code, r.json) == (404, {"error": {"code": "not_found"}})
    assert await table_counts(server) == before
    assert failures == []


@pytest_twisted.ensureDeferred
async def test_nul_and_lone_surrogates_are_refused_in_frames(server, http, ws, failures):
    from tests.clients.social import approve, auth, create_meeting, login

    alice, alice_auth = await rooms_user(http, server, "alice")
    bob, _ = await rooms_user(http, server, "bob")
    room = (await http.post(server.url + "/v1/rooms/", json_body={"users": [{"id": bob}]}, headers=alice_auth)).json
    sock = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat/?session_id={alice_auth['X-Session-Id']}")
    for text in ("a\x00b", "\udfff"):
        sock.send_text(json.dumps({"text": text}))
        assert await sock.next_json() == {"error": {"code": "invalid_json"}}

    owner, _ = await login(http, server, 1)
    member, _ = await login(http, server, 2)
    meeting = (await create_meeting(http, server, owner, title="Chat", group_type=1)).json
    await approve(http, server, owner, meeting["id"], member)
    chat = (await http.get(server.url + "/chats-list/", headers=auth(owner))).json[0]
    social = await ws(f"{server.ws_url}/chat/{chat['channel_slug']}/?token={owner}")
    social.send_text("a\x00b")  # no database stores it: dropped, as an empty frame is
    social.send_text("after")
    assert await social.next_text() == "after"
    history = (await http.get(server.url + f"/message-list/{chat['id']}/", headers=auth(owner))).json
    assert [m["text"] for m in history] == ["after"]
    with pytest.raises(HandshakeRefused) as refused:
        await ws(f"{server.ws_url}/chat/a%00b/?token={owner}")
    assert refused.value.status == 404
    assert failures == []


# -- multipart fields in charsets that are unknown, not text, or make surrogates -----------------

@pytest_twisted.ensureDeferred
async def test_multipart_charsets(server, http, failures):
    from tests.clients.phone import PHONES, sign_up

    _, phone = await sign_up(http, server, PHONES[0])

    async def rename(value: bytes, charset: str):
        body, ctype = hostile.multipart_body([("name", value, charset)], [])
        return await http.patch(server.url + "/api/account/", data=body,
                                headers={"Authorization": f"Token {phone}", "Content-Type": ctype})

    # a codec that is no text codec, one that cannot replace, one that does not exist: UTF-8
    for charset in ("base64", "idna", "bogus-charset", "x" * 300):
        r = await rename("Zoë".encode(), charset)
        assert (r.code, r.json["name"]) == (200, "Zoë"), charset
    r = await rename(b"+2AA-", "utf-7")  # UTF-7 for a lone surrogate
    assert (r.code, r.json) == (400, {"name": ["Surrogate characters are not allowed: U+D800."]})
    r = await rename("Привет".encode("koi8-r"), "koi8-r")
    assert (r.code, r.json["name"]) == (200, "Привет")
    assert failures == []


# -- the staff pages ----------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_staff_pages_answer_wrong_types_with_4xx(server, http, failures):
    import re

    from tests.clients.base import NoRedirects
    from tests.clients.directory import member
    from tests.clients.staff import cookie_of

    await server.services.directory_accounts.ensure_staff("boss@example.com", "staff-pass-1")
    plain = NoRedirects(http)
    json_type = {"Content-Type": "application/json"}
    body = {"email": "boss@example.com", "password": "wrong", "next": 5}
    r = await plain.post(server.url + "/admin/login", data=json.dumps(body).encode(), headers=json_type)
    assert r.code == 401
    body["password"] = "staff-pass-1"
    for next_path in (5, ["/admin/users"], {"a": 1}, None, "/admin/é", "/admin/\x00"):
        body["next"] = next_path
        r = await plain.post(server.url + "/admin/login", data=json.dumps(body).encode(), headers=json_type)
        assert (r.code, r.header("location")) == (303, "/admin/"), next_path
    for wrong in ({"email": ["boss@example.com"], "password": "p"}, {"email": "boss@example.com\x00", "password": "p"}):
        r = await plain.post(server.url + "/admin/login", data=json.dumps(wrong).encode(), headers=json_type)
        assert r.code == 400
    cookie = {"Cookie": cookie_of(r := await plain.post(
        server.url + "/admin/login", data=b"email=boss%40example.com&password=staff-pass-1",
        headers={"Content-Type": "application/x-www-form-urlencoded"}))}
    victim, _ = await member(http, server, "someone@example.com")
    page = await http.get(server.url + f"/admin/users/{victim['id']}", headers=cookie)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.body.decode()).group(1)
    form = {**cookie, "Content-Type": "application/x-www-form-urlencoded"}
    r = await plain.post(server.url + f"/admin/users/{victim['id']}/make-staff", data="csrf=é".encode(), headers=form)
    assert r.code == 403  # compare_digest raised TypeError on non-ASCII text
    r = await plain.post(server.url + f"/admin/users/{victim['id']}/name",
                         data=f"csrf={csrf}&name=a%00b".encode(), headers=form)
    assert r.code == 400
    for path in ("/admin/users?q=%00", "/admin/users/1%00", "/admin/users?page=%C2%B2", "/admin/users/%C2%B2"):
        r = await http.get(server.url + path, headers=cookie)
        assert r.code in (200, 400, 404), (path, r)
    assert (await http.get(server.url + "/admin/users?q=%00", headers=cookie)).code == 400
    assert (await http.get(server.url + "/admin/users?page=%C2%B2", headers=cookie)).code == 200
    assert failures == []


@pytest_twisted.ensureDeferred
async def test_media_names_with_nul_or_not_utf8_are_not_found(server, http, failures):
    for path in ("/media/%00", "/media/%FF", "/media/%ED%A0%80.png"):
        r = await http.get(server.url + path)
        assert (r.code, r.json) == (404, {"detail": "Not found."}), path
    assert failures == []


# -- campus: input errors get their codes; a crash still answers, and is logged ------------------

@pytest_twisted.ensureDeferred
async def test_campus_answers_input_errors_with_their_codes_and_logs_crashes(server, http, failures, monkeypatch):
    r = await post_raw(http, server.url + "/accounts/signup/", DEEP)
    assert r.json == {"error": 1, "error_msg": "Invalid JSON"}
    r = await http.get(server.url + "/api/events/GetEvents?name=%C2%B2%00")
    assert r.json == {"error": 1, "error_msg": "Null characters are not allowed."}
    assert failures == []

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(server.services.campus_events, "search", broken)
    r = await http.get(server.url + "/api/events/GetEvents")
    assert (r.code, r.json) == (200, {"error": -1, "error_msg": "Unknown error"})
    assert len(failures) == 1 and "RuntimeError: boom" in failures[0]

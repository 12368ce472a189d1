"""Hardening after a fuzz and OWASP API run: meeting times every output renders, SMS pumping,
social logins that fail closed, phone numbers and bulk lookups on the phone door, answers in
each door's style everywhere (media, redirects, methods, WebSocket paths, reason phrases, no
banner), private files, WebSocket pings under the rate limit, image size before decoding."""

from __future__ import annotations

import io
import json
import os
import stat

import pytest
import pytest_twisted

from tests.clients.base import TIMEOUT, raw_http
from tests.clients.directory import sign_up as directory_sign_up
from tests.clients.images import png
from tests.clients.phone import PHONES, auth, last_code, send_code, sign_up

DRF_RANGE = "Ensure this value is between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z."


async def raw_head(port: int, data: bytes) -> bytes:
    """The status line and headers the server answers `data` with (the connection is then
    dropped): what treq and parse_responses do not show (the reason phrase)."""
    from twisted.internet import defer, protocol, reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    done = defer.Deferred()

    class Head(protocol.Protocol):
        received = b""

        def connectionMade(self):
            self.transport.write(data)

        def dataReceived(self, chunk):
            self.received += chunk
            if b"\r\n\r\n" in self.received and not done.called:
                done.callback(self.received.split(b"\r\n\r\n", 1)[0])
                self.transport.abortConnection()

        def connectionLost(self, reason):
            if not done.called:
                done.callback(self.received)

    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=TIMEOUT), Head())
    done.addTimeout(TIMEOUT, reactor)
    return await done


def request(method: str, path: str, body: dict | None = None, headers: dict | None = None) -> bytes:
    raw = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", "Host: t", "Connection: close", f"Content-Length: {len(raw)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


# -- 2. meeting times every output renders ----------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_phone_meeting_times_outside_years_1_to_9999_utc_are_refused(server, http):
    _, token = await sign_up(http, server, PHONES[0])
    url = server.url + "/api/meetings/"
    for bad in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00"):
        r = await http.post(url, headers=auth(token), data={"title": "t", "time": bad},
                            files={"logo": ("l.png", "image/png", io.BytesIO(png(4, 4)))})
        assert (r.code, r.json) == (400, {"time": [DRF_RANGE]}), bad
    # the edges themselves are kept and shown
    for good, shown in (("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
                        ("9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59Z")):
        r = await http.post(url, headers=auth(token), data={"title": "t", "time": good},
                            files={"logo": ("l.png", "image/png", io.BytesIO(png(4, 4)))})
        assert r.code == 201 and r.json["time"] == shown, r
    r = await http.get(url, headers=auth(token))
    assert r.code == 200 and len(r.json) == 2


@pytest_twisted.ensureDeferred
async def test_every_meeting_service_bounds_times(server):
    from meetsrv.core.errors import Invalid

    directory = server.services.directory_events
    with pytest.raises(Invalid) as refused:
        await directory.create(1, {"title": "t", "date": "0000-12-31", "starts_at": -62135600400.0})
    assert refused.value.details["fields"] == {"date": ["time_range"]}
    campus = server.services.campus_events
    with pytest.raises(Invalid):
        await campus.create(1, "name", 253402300800, 253402300800)


# -- 3. SMS pumping ----------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_sms_codes_per_client_address_are_limited(start_server, http, clock):
    server = await start_server(clock=clock, sms_per_client=5, sms_per_minute=60)
    url = server.url + "/api/auth/code/"
    for phone in PHONES[:5]:
        r = await http.post(url, json_body={"phone": phone})
        assert r.code == 201
    r = await http.post(url, json_body={"phone": PHONES[5]})
    assert (r.code, r.json) == (429, {"detail": "Request was throttled."})
    assert not [to for to, _ in server.services.sms.sent if to == PHONES[5]]
    clock.advance(60)
    r = await http.post(url, json_body={"phone": PHONES[5]})
    assert r.code == 201 and last_code(server, PHONES[5])


@pytest_twisted.ensureDeferred
async def test_sms_codes_in_total_are_limited(start_server, http, clock):
    server = await start_server(clock=clock, sms_per_client=0, sms_per_minute=3)
    url = server.url + "/api/auth/code/"
    for phone in PHONES[:3]:
        assert (await http.post(url, json_body={"phone": phone})).code == 201
    r = await http.post(url, json_body={"phone": PHONES[3]})
    assert (r.code, r.json) == (429, {"detail": "Request was throttled."})
    clock.advance(60)
    assert (await http.post(url, json_body={"phone": PHONES[3]})).code == 201


@pytest_twisted.ensureDeferred
async def test_sms_limits_hold_across_processes(start_server, http, clock):
    from tests.support.backends import REDIS

    if not REDIS:
        pytest.skip("two processes share limits through Redis only")
    one = await start_server(clock=clock, sms_per_client=3, sms_per_minute=60)
    two = await start_server(clock=clock, sms_per_client=3, sms_per_minute=60)
    for server, phone in ((one, PHONES[0]), (two, PHONES[1]), (one, PHONES[2])):
        await send_code(http, server, phone)
    r = await http.post(two.url + "/api/auth/code/", json_body={"phone": PHONES[3]})
    assert r.code == 429


def test_sms_limit_keys_clients_by_address_and_ipv6_by_its_64():
    from meetsrv.core.accounts.sms import client_key

    assert client_key("203.0.113.7") == client_key("::ffff:203.0.113.7") == "sms:client:203.0.113.7"
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "sms:client:2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")


# -- 4. social logins fail closed --------------------------------------------------------------

class FakeVk:
    """VK's users.get on loopback: token "vk-<id>" belongs to user <id>."""

    def __init__(self):
        self.seen = []

    def resource(self):
        from twisted.web.resource import Resource

        fake = self

        class UsersGet(Resource):
            isLeaf = True

            def render_POST(self, request):
                args = {k.decode(): v[0].decode() for k, v in request.args.items()}
                if not args:  # the site does not parse forms (Twisted's default does)
                    from urllib.parse import parse_qsl

                    args = dict(parse_qsl(request.content.read().decode()))
                fake.seen.append(args)
                request.setHeader(b"content-type", b"application/json")
                token = args.get("access_token", "")
                if token.startswith("vk-"):
                    return json.dumps({"response": [{"id": int(token[3:]), "first_name": "A", "last_name": "B"}]}).encode()
                return json.dumps({"error": {"error_code": 5, "error_msg": "User authorization failed"}}).encode()

        return UsersGet()


async def _social_login(http, server, slug, external_id, token):
    return await http.post(server.url + "/api-token-auth/", json_body={
        "social_slug": slug, "external_id": external_id, "token": token, "first_name": "F"})


REFUSED = {"non_field_errors": ["Unable to log in with provided credentials."]}


@pytest_twisted.ensureDeferred
async def test_social_login_fails_closed_without_a_verifier(start_server, http):
    from twisted.internet import reactor
    from twisted.logger import globalLogPublisher
    from twisted.web.server import Site

    vk = FakeVk()
    port = reactor.listenTCP(0, Site(vk.resource()), interface="127.0.0.1")
    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        server = await start_server(social_trust_client=False,
                                    social_vk_url=f"http://127.0.0.1:{port.getHost().port}/method/users.get")
        globalLogPublisher.removeObserver(seen.append)
        assert any("only {providers} logins are verified" in (e.get("log_format") or "") for e in seen)
        # a provider nothing verifies: refused
        r = await _social_login(http, server, "fb", 5, "anything")
        assert (r.code, r.json) == (400, REFUSED)
        # vk: the built-in verifier asks users.get with the token
        r = await _social_login(http, server, "vk", 77, "vk-77")
        assert r.code == 200 and r.json["href"].endswith("/user-detail/1/")  # nobody was made for fb
        assert vk.seen[-1]["access_token"] == "vk-77" and vk.seen[-1]["v"]
        for token in ("vk-78", "expired"):  # somebody else's token; one VK refuses
            r = await _social_login(http, server, "vk", 77, token)
            assert (r.code, r.json) == (400, REFUSED), token
    finally:
        globalLogPublisher.removeObserver(seen.append)
        await port.stopListening()
    # VK out of reach: 503, as for the generic verifier
    r = await _social_login(http, server, "vk", 77, "vk-77")
    assert r.code == 503


@pytest_twisted.ensureDeferred
async def test_debug_trusts_social_clients_with_a_loud_warning(start_server, http):
    from twisted.logger import LogLevel, globalLogPublisher

    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        server = await start_server(social_trust_client=False, debug=True)
    finally:
        globalLogPublisher.removeObserver(seen.append)
    assert any(e.get("log_level") == LogLevel.critical and "NOT VERIFIED" in (e.get("log_format") or "")
               for e in seen)
    r = await _social_login(http, server, "fb", 5, "anything")
    assert r.code == 200


def test_social_options():
    from meetsrv.config import ConfigError, build_settings

    s = build_settings({"social-trust-client": True}, environ={"MEETSRV_SOCIAL_VK_URL": "http://127.0.0.1:9/vk"})
    assert s.social_trust_client and s.social_vk_url == "http://127.0.0.1:9/vk"
    assert build_settings({}, environ={}).social_trust_client is False
    with pytest.raises(ConfigError):
        build_settings({"social-vk-url": "ftp://x"}, environ={})


# -- 5. the phone door: whose phone it shows, bulk lookups -------------------------------------

@pytest_twisted.ensureDeferred
async def test_phone_door_shows_only_phone_sign_up_phones(server, http):
    viewer, token = await sign_up(http, server, PHONES[0])
    other, _ = await sign_up(http, server, PHONES[1])
    directory_user = await directory_sign_up(http, server, "d@example.com", telephone=PHONES[2])
    r = await http.get(server.url + "/api/users/", headers=auth(token),
                       params=[("users", str(other)), ("users", str(directory_user["id"]))])
    assert r.code == 200
    assert {u["id"]: u.get("phone") for u in r.json} == {other: PHONES[1], directory_user["id"]: None}
    assert "phone" not in r.json[1]
    r = await http.get(server.url + f"/api/users/{directory_user['id']}/", headers=auth(token))
    assert r.code == 200 and "phone" not in r.json
    # not even as a contact with that phone
    r = await http.put(server.url + "/api/contacts/", headers=auth(token),
                       json_body={"names": ["D"], "phones": [PHONES[2]]})
    assert r.code == 200 and all("phone" not in u for u in r.json)


@pytest_twisted.ensureDeferred
async def test_phone_user_lookup_is_bounded(server, http):
    _, token = await sign_up(http, server, PHONES[0])
    url = server.url + "/api/users/"
    r = await http.get(url, headers=auth(token), params=[("users", str(i)) for i in range(1, 102)])
    assert (r.code, r.json) == (400, {"users": ["Ensure this field has no more than 100 elements."]})
    r = await http.get(url, headers=auth(token), params=[("users", str(i)) for i in range(1, 101)])
    assert r.code == 200 and len(r.json) == 1


# -- 6. every answer in the door's style ---------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_media_answers(server, http):
    uid, token = await sign_up(http, server, PHONES[0])
    avatar = (await http.get(server.url + "/api/account/", headers=auth(token))).json["avatar"]
    r = await http.get(avatar.replace(server.services.base_url, server.url))
    assert r.code == 200 and r.body == png(4, 4)
    assert (r.header("content-type"), r.header("x-content-type-options")) == ("image/png", "nosniff")
    # a file of a type the server never writes is bytes to download, not a page
    with open(os.path.join(server.settings.media, "page.html"), "wb") as f:
        f.write(b"<script>alert(1)</script>")
    r = await http.get(server.url + "/media/page.html")
    assert r.header("content-type") == "application/octet-stream" and r.header("x-content-type-options") == "nosniff"
    for path in ("/media/nope.png", "/media/%00", "/media/a%00b.png", "/media/", "/media", "/media/images",
                 "/media/images/", "/media/.hidden", "/media/page.html/x"):
        r = await http.get(server.url + path)
        assert (r.code, r.json) == (404, {"detail": "Not found."}), path
    r = await http.post(server.url + "/media/page.html", data=b"x")
    assert (r.code, r.json) == (405, {"detail": 'Method "POST" not allowed.'})
    r = await http.delete(server.url + "/healthz")
    assert (r.code, r.json) == (405, {"detail": 'Method "DELETE" not allowed.'})
    r = await http.get(server.url + "/healthz/x")
    assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_doubled_slashes_are_not_found_in_the_door_style(server, http):
    r = await http.get(server.url + "/meeting-detail//1/")
    assert (r.code, r.json, r.header("location")) == (404, {"detail": "Not found."}, None)
    r = await http.get(server.url + "/v1//info")
    assert (r.code, r.json) == (404, {"error": {"code": "not_found"}})
    r = await http.get(server.url + "/api//profile/GetProfile")
    assert (r.code, r.json) == (404, {"error": 5, "error_msg": "Not found"})
    r = await http.get(server.url + "/api/meetings//1/")
    assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_paths_and_hosts_that_are_not_utf8_are_not_found_in_the_door_style(server):
    # Klein answered them with a 400 in plain text
    port = server.port.getHost().port
    (r,) = await raw_http(port, request("GET", "/v1/rooms/%ff/"))
    assert (r.code, r.json) == (404, {"error": {"code": "not_found"}})
    (r,) = await raw_http(port, request("GET", "/user-detail/%ff/"))
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    (r,) = await raw_http(port, request("GET", "/v1/info").replace(b"Host: t", b"Host: \xff\xfe"))
    assert (r.code, r.json) == (404, {"error": {"code": "not_found"}})


@pytest_twisted.ensureDeferred
async def test_a_plain_get_of_a_websocket_path_is_426_in_the_door_style(server, http):
    expected = {
        "/chat/abc/": {"detail": "Upgrade Required: this path serves a WebSocket."},
        "/ws/chat/": {"detail": "Upgrade Required: this path serves a WebSocket."},
        "/v1/rooms/1/chat": {"error": {"code": "upgrade_required"}},
        "/ws/mark_me": {"error": 3, "error_msg": "WebSocket upgrade required"},
        "/ws/marking": {"error": 3, "error_msg": "WebSocket upgrade required"},
    }
    for path, body in expected.items():
        r = await http.get(server.url + path)
        assert (r.code, r.json) == (426, body), path
        assert b"Autobahn" not in r.body
    # (Upgrade is a connection header: the HTTP client does not show it)
    head = await raw_head(server.port.getHost().port, request("GET", "/chat/abc/"))
    assert b"\r\nUpgrade: websocket" in head, head


@pytest_twisted.ensureDeferred
async def test_no_server_banner_and_real_reason_phrases(server, http):
    port = server.port.getHost().port
    head = await raw_head(port, request("POST", "/v1/login", {"login": "nobody", "password": "x"}))
    assert head.startswith(b"HTTP/1.1 422 Unprocessable Entity\r\n") and b"\r\nserver:" not in head.lower()
    head = await raw_head(port, request("GET", "/media/nope"))
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\n") and b"\r\nserver:" not in head.lower()
    head = await raw_head(port, request("GET", "/ws/chat/"))
    assert head.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
    for _ in range(5):
        await send_code(http, server, PHONES[0])
    head = await raw_head(port, request("POST", "/api/auth/code/", {"phone": PHONES[0]}))
    assert head.startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
    # nor from Autobahn in a WebSocket handshake
    session = (await http.post(server.url + "/v1/register", json_body={"login": "a", "password": "p"})).json["session_id"]
    room = (await http.post(server.url + "/v1/rooms", json_body={"users": []}, headers={"X-Session-Id": session})).json
    head = await raw_head(port, (
        f"GET /v1/rooms/{room['id']}/chat?session_id={session} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode())
    assert head.startswith(b"HTTP/1.1 101 ") and b"\r\nserver:" not in head.lower(), head


@pytest_twisted.ensureDeferred
async def test_database_and_media_files_are_private(server, http):
    media = server.settings.media
    uid, token = await sign_up(http, server, PHONES[0])
    avatar = (await http.get(server.url + "/api/account/", headers=auth(token))).json["avatar"]
    relative = avatar.split("/media/", 1)[1]
    assert stat.S_IMODE(os.stat(os.path.join(media, relative)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(os.path.join(media, relative))).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(media).st_mode) == 0o700
    if server.db.name == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            path = server.db.path + suffix
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


# -- 7. WebSocket pings, image pixels ------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_websocket_pings_count_against_the_rate_limit(start_server, http, ws, clock):
    server = await start_server(clock=clock)
    session = (await http.post(server.url + "/v1/register", json_body={"login": "a", "password": "p"})).json["session_id"]
    room = (await http.post(server.url + "/v1/rooms", json_body={"users": []}, headers={"X-Session-Id": session})).json
    sock = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat?session_id={session}")
    for _ in range(300):
        sock.proto.sendPing()
    assert await sock.wait_closed() == 4029


@pytest_twisted.ensureDeferred
async def test_a_36_megapixel_image_is_refused_undecoded(server, http, monkeypatch):
    from PIL import Image, ImageFile

    assert server.settings.max_image_pixels == 16_000_000
    loaded = []
    original = ImageFile.ImageFile.load

    def load(self):
        loaded.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    big = io.BytesIO()
    Image.new("1", (6000, 6000)).save(big, "PNG")
    code = await send_code(http, server, PHONES[0])
    r = await http.post(server.url + "/api/auth/users/",
                        data={"phone": PHONES[0], "code": code, "is_new": "true", "name": "n"},
                        files={"avatar": ("big.png", "image/png", io.BytesIO(big.getvalue()))})
    assert r.code == 400 and list(r.json) == ["avatar"]
    assert (6000, 6000) not in loaded
    # a small one is decoded whole
    await sign_up(http, server, PHONES[1])
    assert loaded


def test_image_and_body_options():
    from meetsrv.config import ConfigError, build_settings

    s = build_settings({"max-image-pixels": "1000"}, environ={"MEETSRV_MAX_MULTIPART_PARTS": "7",
                                                              "MEETSRV_SMS_PER_CLIENT": "2"})
    assert (s.max_image_pixels, s.max_multipart_parts, s.sms_per_client, s.sms_per_minute) == (1000, 7, 2, 60)
    with pytest.raises(ConfigError):
        build_settings({"max-multipart-parts": "0"}, environ={})

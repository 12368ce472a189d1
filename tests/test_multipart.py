"""Multipart bodies: parsed off the reactor thread, only where a file is taken, with a cap on
parts; Twisted's own parse is off."""

from __future__ import annotations

import io
import time

import pytest_twisted

from tests.clients.base import raw_http
from tests.clients.images import png
from tests.clients.phone import PHONES, last_code, send_code

BOUNDARY = "b0undary"


def many_parts(count: int, name: str = "f") -> bytes:
    part = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\nv\r\n'.encode()
    return part * count + f"--{BOUNDARY}--\r\n".encode()


def post(path: str, body: bytes, content_type: str = f"multipart/form-data; boundary={BOUNDARY}") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


@pytest_twisted.ensureDeferred
async def test_a_huge_multipart_body_does_not_delay_other_clients(server):
    """50,000 parts (2.5 MB, unauthenticated) once stalled every door for seconds; now the
    parse stops at the cap, on a thread, and another client's requests are answered meanwhile."""
    from twisted.internet import defer

    port = server.port.getHost().port
    big = defer.ensureDeferred(raw_http(port, post("/api/auth/users/", many_parts(50_000))))
    ping = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    latencies = []
    while not big.called or not latencies:
        started = time.monotonic()
        (answer,) = await raw_http(port, ping)
        latencies.append(time.monotonic() - started)
        assert answer.code == 200
    (refused,) = await big
    assert refused.code == 400
    assert refused.json == {"detail": "Multipart form parse error - Too many parts: at most 100 are accepted"}
    assert max(latencies) < 0.2, latencies


@pytest_twisted.ensureDeferred
async def test_parts_are_capped(start_server, http):
    server = await start_server(max_multipart_parts=5)
    code = await send_code(http, server, PHONES[0])
    fields = {"phone": PHONES[0], "code": code, "is_new": "true", "name": "N", "x": "1", "y": "2"}
    def avatar():
        return {"avatar": ("a.png", "image/png", io.BytesIO(png(4, 4)))}

    r = await http.post(server.url + "/api/auth/users/", data=fields, files=avatar())
    assert (r.code, r.json) == (400, {"detail": "Multipart form parse error - Too many parts: at most 5 are accepted"})
    del fields["x"], fields["y"]
    r = await http.post(server.url + "/api/auth/users/", data=fields, files=avatar())
    assert r.code == 201, r


@pytest_twisted.ensureDeferred
async def test_malformed_multipart_is_a_bad_request(server):
    port = server.port.getHost().port
    (r,) = await raw_http(port, post("/api/auth/users/", b"--b0undary\r\nno headers end"))
    assert r.code == 400 and r.json["detail"].startswith("Multipart form parse error")
    (r,) = await raw_http(port, post("/api/auth/users/", b"x", "multipart/form-data"))
    assert r.code == 400 and r.json["detail"].startswith("Multipart form parse error")


@pytest_twisted.ensureDeferred
async def test_multipart_is_refused_where_no_file_is_taken(server, http):
    """Each door refuses it in its own style, unread, and nothing happens."""
    url = server.url
    fields = {"phone": PHONES[1], "login": "a", "password": "p", "username": "u", "email": "e@x.io",
              "social_slug": "vk", "external_id": "1", "token": "t", "first_name": "F"}
    def one_file():
        return {"x": ("x.txt", "text/plain", io.BytesIO(b"x"))}

    r = await http.post(url + "/api/auth/code/", data=fields, files=one_file())
    assert r.code == 415 and r.json["detail"].startswith('Unsupported media type "multipart/form-data; boundary=')
    assert not [to for to, _ in server.services.sms.sent if to == PHONES[1]]  # no code was sent
    r = await http.post(url + "/v1/register", data=fields, files=one_file())
    assert (r.code, r.json) == (422, {"error": {"code": "invalid_json"}})
    r = await http.post(url + "/accounts/signup/", data=fields, files=one_file())
    assert (r.code, r.json) == (200, {"error": 4, "error_msg": "json content expected"})
    r = await http.post(url + "/api-token-auth/", data=fields, files=one_file())
    assert r.code == 415 and "Unsupported media type" in r.json["detail"]
    r = await http.post(url + "/api/user/sign-up/", data=fields, files=one_file())
    assert r.code == 415 and "Unsupported media type" in r.json["detail"]
    # nobody was made: the same names sign up fine now
    r = await http.post(url + "/v1/register", json_body={"login": "a", "password": "p"})
    assert r.code == 200
    r = await http.post(url + "/api-token-auth/", json_body={k: fields[k] for k in
                                                              ("social_slug", "external_id", "token", "first_name")})
    assert r.code == 200 and r.json["href"].endswith("/user-detail/2/")


@pytest_twisted.ensureDeferred
async def test_files_still_arrive_where_they_are_taken(server, http):
    # the phone door's sign-up (a field repeated, charset fields, the file)
    code = await send_code(http, server, PHONES[2])
    r = await http.post(server.url + "/api/auth/users/",
                        data={"phone": PHONES[2], "code": code, "is_new": "true", "name": "Вася"},
                        files={"avatar": ("a.png", "image/png", io.BytesIO(png(4, 4)))})
    assert r.code == 201, r
    r = await http.get(server.url + "/api/account/", headers={"Authorization": f"Token {r.json['token']}"})
    assert r.json["name"] == "Вася" and r.json["avatar"].endswith(".png")
    # an empty multipart body is read as no fields
    code = last_code(server, PHONES[2])
    port = server.port.getHost().port
    (r,) = await raw_http(port, post("/api/auth/users/", b""))
    assert (r.code, r.json) == (400, {"phone": ["This field is required."], "code": ["This field is required."]})
    assert code


@pytest_twisted.ensureDeferred
async def test_form_fields_are_capped(start_server, http):
    server = await start_server(max_form_fields=3)
    r = await http.post(server.url + "/api/auth/code/", data=b"phone=%2B79250741410&a=1&b=2&c=3",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.code == 400 and "Too many fields" in r.json["detail"]
    r = await http.post(server.url + "/api/auth/code/", data={"phone": PHONES[0]})
    assert r.code == 201

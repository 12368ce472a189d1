"""A request target sent as raw UTF-8 bytes (as curl sends `GET /v1/users/?q=Вася`) is read as
UTF-8: answered exactly as its percent-encoded form, through a real port with a raw TCP client
(HTTP client libraries percent-encode the target themselves, so they cannot send this)."""

from __future__ import annotations

from urllib.parse import quote

import pytest_twisted

from tests.clients.base import raw_http
from tests.clients.rooms import register


def get(target: bytes, *headers: bytes, close: bool = True) -> bytes:
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: 127.0.0.1"] + list(headers)
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def port_of(server) -> int:
    return server.port.getHost().port


def session_header(session: str) -> bytes:
    return b"X-Session-Id: " + session.encode()


@pytest_twisted.ensureDeferred
async def test_raw_utf8_query_is_answered_as_percent_encoded(server, http):
    session = await register(http, server, "Вася")
    vasyatka = await register(http, server, "Васятка")
    await register(http, server, "Петя")
    port = port_of(server)
    me = (await http.get(server.url + "/v1/users", params={"q": "Вася"}, headers={"X-Session-Id": session})).json
    assert len(me) == 2  # Вася and Васятка
    for path in ("/v1/users/", "/v1/users"):
        for term in ("Вася", "вас", "Пет"):
            [raw] = await raw_http(port, get(f"{path}?q={term}".encode(), session_header(session)))
            [encoded] = await raw_http(port, get(f"{path}?q={quote(term)}".encode(), session_header(session)))
            assert (raw.code, raw.body) == (encoded.code, encoded.body) and raw.code == 200, (path, term, raw)
            assert raw.header("content-type") == encoded.header("content-type")
    [raw] = await raw_http(port, get("/v1/users/?q=Вася".encode(), session_header(vasyatka)))
    assert raw.json == me


@pytest_twisted.ensureDeferred
async def test_raw_utf8_path_and_bad_bytes_are_answered_as_percent_encoded(server, http):
    session = await register(http, server, "Вася")
    port = port_of(server)
    cases = [
        ("/v1/нет".encode(), b"/v1/" + quote("нет").encode()),  # an unknown path, in the door's words
        ("/v1/users/?q=Ва&q=Пе".encode(), b"/v1/users/?q=" + quote("Ва").encode() + b"&q=" + quote("Пе").encode()),
        (b"/v1/users/?q=\xff", b"/v1/users/?q=%FF"),  # not UTF-8: as its percent-encoded form
        (b"/v1/users/?q=\xd0", b"/v1/users/?q=%D0"),
        ("/v1/users/?q=Вася#frag".encode(), b"/v1/users/?q=" + quote("Вася").encode() + b"#frag"),
    ]
    for raw_target, encoded_target in cases:
        [raw] = await raw_http(port, get(raw_target, session_header(session)))
        [encoded] = await raw_http(port, get(encoded_target, session_header(session)))
        assert raw.body, raw_target  # not Twisted's empty 400
        assert (raw.code, raw.body) == (encoded.code, encoded.body), raw_target


@pytest_twisted.ensureDeferred
async def test_pipelined_requests_are_each_read_as_utf8(server, http):
    """The next request line on a kept-alive connection is rewritten too; a header line is not
    a request line (its value keeps its bytes: the session is then unknown, 401)."""
    session = await register(http, server, "Вася")
    port = port_of(server)
    [expected] = await raw_http(port, get(b"/v1/users/?q=" + quote("Вася").encode(), session_header(session)))
    assert expected.code == 200 and len(expected.json) == 1
    target = "/v1/users/?q=Вася".encode()
    answers = await raw_http(port, get(target, session_header(session), close=False)
                             + get(target, b"X-Session-Id: \xd0\x92\xd0\xb0", close=False)
                             + get(target, session_header(session)))
    assert [(a.code, a.body) for a in answers] == [(200, expected.body), (401, answers[1].body), (200, expected.body)]


@pytest_twisted.ensureDeferred
async def test_request_lines_that_stay_bad(server, http):
    port = port_of(server)
    for line in ("GET /v1/users/?q=Ва ся HTTP/1.1".encode(), "GÉT /v1/users/ HTTP/1.1".encode(),
                 "GET /v1/users/ HTTP/1.1 Вася".encode(), "GET /v1/users/ HTTП/1.1".encode()):
        answers = await raw_http(port, line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert [a.code for a in answers] == [400], line

"""The door toolkit (meetsrv.http): credential extractors, request models and each door's
rendering of a refused request, through a real port where the answer is what matters."""

from __future__ import annotations

import pytest
import pytest_twisted
from autobahn.websocket.types import ConnectionRequest
from twisted.web.server import Request as WebRequest
from twisted.web.test.requesthelper import DummyChannel

from meetsrv.http import credentials as cr
from meetsrv.http.models import RequestInvalid, parse
from tests.clients import directory as dh
from tests.clients import phone as ph
from tests.clients.base import http  # noqa: F401  (no shared cookie jar)


def web_request(headers=None, args=None, cookies=None, method=b"GET"):
    request = WebRequest(DummyChannel(), False)
    request.method = method
    for name, value in (headers or {}).items():
        request.requestHeaders.setRawHeaders(name, [value])
    request.args = {k.encode(): [v.encode() for v in vs] for k, vs in (args or {}).items()}
    if cookies:
        request.requestHeaders.setRawHeaders(b"cookie", ["; ".join(f"{k}={v}" for k, v in cookies.items())])
        request.parseCookies()
    return request


def handshake(headers=None, params=None):
    return ConnectionRequest(None, {k.lower(): v for k, v in (headers or {}).items()}, "localhost", "/ws",
                             {k: list(v) for k, v in (params or {}).items()}, 1, "http://x", [], [])


# -- extractors ---------------------------------------------------------------------------------

def test_token_header_is_drf_token_authentication():
    read = cr.TokenHeader()
    assert read(web_request({"Authorization": "Token abc"})) == cr.Credential("abc", "token")
    assert read(web_request({"Authorization": "token abc"})).token == "abc"
    assert read(web_request()) is None
    assert read(web_request({"Authorization": "Bearer abc"})) is None  # another scheme: none sent
    with pytest.raises(cr.CredentialRefused) as e:
        read(web_request({"Authorization": "Token"}))
    assert e.value.detail == "Invalid token header. No credentials provided."
    with pytest.raises(cr.CredentialRefused) as e:
        read(web_request({"Authorization": "Token a b"}))
    assert e.value.detail == "Invalid token header. Token string should not contain spaces."
    # the lenient reading (campus): the rest of the header, and `Token` alone is no credential
    lenient = cr.TokenHeader(strict=False)
    assert lenient(web_request({"Authorization": "Token a b "})).token == "a b"
    assert lenient(web_request({"Authorization": "Token"})) is None
    assert lenient(handshake({"Authorization": "Token xyz"})).token == "xyz"


def test_bearer_header_with_and_without_the_scheme():
    rest = cr.BearerHeader(bare=True)
    assert rest(web_request({"Authorization": "Bearer j.w.t"})) == cr.Credential("j.w.t", "bearer")
    assert rest(web_request({"Authorization": "JWT j.w.t"})).token == "j.w.t"
    assert rest(web_request({"Authorization": "j.w.t"})).token == "j.w.t"
    assert rest(web_request()) is None
    with pytest.raises(cr.CredentialRefused):
        rest(web_request({"Authorization": "Token j.w.t"}))
    # on a socket an unreadable header leaves the credential to the next extractor
    socket = (cr.BearerHeader(bare=True, skip_other=True), cr.Query("token"))
    assert cr.read(handshake({"Authorization": "Token x"}, {"token": ["q"]}), socket) == cr.Credential("q", "query")
    assert cr.read(handshake({"Authorization": "Bearer h"}, {"token": ["q"]}), socket).token == "h"
    with pytest.raises(cr.CredentialRefused):
        cr.BearerHeader()(web_request({"Authorization": "j.w.t"}))


def test_header_query_and_cookie_extractors():
    assert cr.Header("X-Session-Id")(web_request({"X-Session-Id": "s1"})) == cr.Credential("s1", "header")
    assert cr.Header("X-Session-Id")(web_request({"X-Session-Id": ""})) is None
    assert cr.Query("session_id")(web_request(args={"session_id": ["s2", "s3"]})).token == "s2"
    assert cr.Query("session_id")(handshake(params={"session_id": ["s4"]})).token == "s4"
    assert cr.Query("token")(web_request(args={"token": [""]})) is None
    cookie = cr.SessionCookie("sessionid", cr.CsrfCheck())
    found = cookie(web_request(cookies={"sessionid": "c1"}))
    assert (found.token, found.source, found.csrf) == ("c1", "cookie", cr.CsrfCheck())
    assert cookie(handshake({"Cookie": 'a=b; sessionid="c2"'})).token == "c2"
    assert cookie(web_request()) is None


def test_csrf_check_is_django_double_submit():
    check = cr.CsrfCheck()
    assert check.passes(web_request({"X-CSRFToken": "t"}, cookies={"csrftoken": "t"}))
    assert not check.passes(web_request({"X-CSRFToken": "u"}, cookies={"csrftoken": "t"}))
    assert not check.passes(web_request({"X-CSRFToken": ""}, cookies={"csrftoken": ""}))
    assert not check.passes(web_request(cookies={"csrftoken": "t"}))


@pytest_twisted.ensureDeferred
async def test_authenticate_records_the_user_and_checks_csrf_on_unsafe_methods():
    known = {"good": 7}
    extractors = (cr.TokenHeader(), cr.SessionCookie("sessionid", cr.CsrfCheck()))

    async def check(credential):  # a coroutine, a Deferred or a plain value are all accepted
        return known.get(credential.token)

    request = web_request({"Authorization": "Token good"}, method=b"POST")
    assert await cr.authenticate(request, extractors, check) == 7
    assert request.meetsrv_user_id == 7
    with pytest.raises(cr.CredentialMissing):
        await cr.authenticate(web_request(), extractors, check)
    assert await cr.authenticate(web_request(), extractors, check, required=False) is None
    with pytest.raises(cr.CredentialRefused):
        await cr.authenticate(web_request({"Authorization": "Token bad"}), extractors, lambda c: None)
    # a cookie session: a safe method needs no CSRF token, an unsafe one does
    by_cookie = web_request(cookies={"sessionid": "good"})
    assert await cr.authenticate(by_cookie, extractors, lambda c: known.get(c.token)) == 7
    posted = web_request(cookies={"sessionid": "good"}, method=b"POST")
    with pytest.raises(cr.CsrfRefused):
        await cr.authenticate(posted, extractors, lambda c: known.get(c.token))
    assert not hasattr(posted, "meetsrv_user_id")
    # a handshake is authenticated the same way; its socket keeps the user, not the request
    assert await cr.authenticate(handshake({"Authorization": "Token good"}), extractors, check) == 7


@pytest_twisted.ensureDeferred
async def test_every_door_records_the_authenticated_user_on_the_request(server, http):
    seen = []
    server.site.log = lambda request: seen.append((request.path, getattr(request, "meetsrv_user_id", None)))
    r = await http.post(server.url + "/v1/register", json_body={"login": "rec", "password": "pw"})
    r = await http.get(server.url + "/v1/info", headers={"X-Session-Id": r.json["session_id"]})
    rooms_user = r.json["id"]
    user, access = await dh.member(http, server, "rec@example.com")
    await http.get(server.url + "/api/events/", headers=dh.auth(access))
    phone_user, token = await ph.sign_up(http, server, ph.PHONES[0])
    await http.get(server.url + "/api/account/", headers=ph.auth(token))
    await http.get(server.url + "/api/auth/GetCurrentUserId", headers=ph.auth(token))
    await http.get(server.url + "/v1/info")  # no credential: nothing recorded
    recorded = dict(seen)
    assert recorded[b"/v1/info"] is None
    assert recorded[b"/api/events/"] == user["id"]
    assert recorded[b"/api/account/"] == phone_user
    assert recorded[b"/api/auth/GetCurrentUserId"] == phone_user  # campus accepts the phone token
    assert (b"/v1/info", rooms_user) in seen


# -- models: one error type, field by field -----------------------------------------------------

def test_parse_reports_every_field_in_the_models_order():
    from meetsrv.doors.campus import models

    with pytest.raises(RequestInvalid) as e:
        parse(models.NewEvent, {"time_to": "x", "unknown": 1})
    assert [(p.field, p.code) for p in e.value.problems] == [
        ("name", "missing"), ("time_from", "missing"), ("time_to", "int")]
    assert e.value.model is models.NewEvent
    given = parse(models.NewEvent, {"name": "n", "time_from": " 5 ", "time_to": 6.0, "unknown": 1})
    assert (given.name, given.time_from, given.time_to) == ("n", 5, 6)


def test_models_describe_themselves_in_json_schema():
    from meetsrv.doors.directory.models import NewOrganization

    schema = NewOrganization.model_json_schema()
    assert schema["required"] == ["title"]
    assert schema["properties"]["postcode"]["anyOf"][0]["maxLength"] == 16


# -- each door's style, through the port --------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_rooms_refuses_wrong_types_and_missing_fields_as_invalid_json(server, http):
    url = server.url + "/v1/register/"
    for body in ({"login": 5, "password": "pw"}, {"login": "a"}, {"login": "a", "password": True},
                 {"login": "", "password": "pw"}, ["login"]):
        r = await http.post(url, json_body=body)
        assert (r.code, r.body) == (422, b'{"error":{"code":"invalid_json"}}'), body
    r = await http.post(url, json_body={"login": "extra", "password": "pw", "admin": True})
    assert r.code == 200 and set(r.json) == {"session_id"}
    session = r.json["session_id"]
    r = await http.post(server.url + "/v1/rooms/", json_body={"users": [{"id": "1"}]},
                        headers={"X-Session-Id": session})
    assert (r.code, r.body) == (422, b'{"error":{"code":"invalid_json"}}')
    r = await http.get(server.url + "/v1/rooms/1/messages/?before=x", headers={"X-Session-Id": session})
    assert (r.code, r.body) == (422, b'{"error":{"code":"invalid_before"}}')


@pytest_twisted.ensureDeferred
async def test_directory_answers_drf_field_errors(server, http):
    url = server.url + "/api/user/sign-up/"
    r = await http.post(url, json_body={"password": ["a", "b"], "telephone": "x" * 40, "extra": 1})
    assert r.code == 400
    assert r.body == (b'{"email":["This field is required."],"password":["Not a valid string."],'
                      b'"telephone":["Ensure this field has no more than 32 characters."]}')
    r = await http.post(url, json_body={"email": "no-at", "password": " "})
    assert r.body == b'{"email":["Enter a valid email address."],"password":["This field may not be blank."]}'
    r = await http.post(url, json_body={"email": "ok@example.com", "password": 12345678, "extra": [1]})
    assert r.code == 201 and r.json["email"] == "ok@example.com"
    _, access = await dh.member(http, server, "dates@example.com")
    r = await http.get(server.url + "/api/events/?date__gte=someday", headers=dh.auth(access))
    assert (r.code, r.body) == (400, b'{"date__gte":["Enter a valid date."]}')


@pytest_twisted.ensureDeferred
async def test_phone_answers_drf_field_errors(server, http):
    r = await http.post(server.url + "/api/auth/code/", json_body={"extra": 1})
    assert (r.code, r.body) == (400, b'{"phone":["This field is required."]}')
    r = await http.post(server.url + "/api/auth/code/", json_body={"phone": True})
    assert (r.code, r.body) == (400, b'{"phone":["Not a valid string."]}')
    _, token = await ph.sign_up(http, server, ph.PHONES[1])
    r = await http.put(server.url + "/api/blacklist/", json_body={"user": "abc"}, headers=ph.auth(token))
    assert (r.code, r.body) == (400, b'{"user":["A valid integer is required."]}')
    r = await http.patch(server.url + "/api/account/", json_body={"name": None, "hidden_phone": "maybe"},
                         headers=ph.auth(token))
    assert r.code == 400
    assert r.body == b'{"name":["This field may not be null."],"hidden_phone":["\\"maybe\\" is not a valid boolean."]}'
    r = await http.patch(server.url + "/api/account/", json_body={"hidden_phone": "yes", "extra": {}},
                         headers=ph.auth(token))
    assert r.code == 200 and r.json["hidden_phone"] is True


@pytest_twisted.ensureDeferred
async def test_social_answers_drf_field_errors_and_reads_firs_name(server, http):
    url = server.url + "/api-token-auth/"
    r = await http.post(url, json_body={"social_slug": ["vk"], "external_id": "x", "token": "t"})
    assert r.code == 400
    assert r.body == (b'{"social_slug":["Not a valid string."],"external_id":["A valid integer is required."],'
                      b'"first_name":["This field is required."]}')
    r = await http.post(url, json_body={"social_slug": "vk", "external_id": 0, "token": "t", "first_name": "A"})
    assert r.body == b'{"non_field_errors":["Must include \\"social_slug\\", \\"external_id\\", \\"first_name\\" and \\"token\\"."]}'
    r = await http.post(url, json_body={"social_slug": "vk", "external_id": 9, "token": "t", "first_name": "A",
                                        "extra": 1})
    assert r.code == 200
    headers = {"Authorization": f"Token {r.json['token']}"}
    r = await http.put(server.url + "/user-detail/", json_body={"firs_name": "Boris", "gender": 7},
                       headers=headers)
    assert (r.code, r.body) == (400, b'{"gender":["\\"7\\" is not a valid choice."]}')
    r = await http.put(server.url + "/user-detail/", json_body={"firs_name": "Boris"}, headers=headers)
    assert r.code == 200 and r.json["first_name"] == "Boris"


@pytest_twisted.ensureDeferred
async def test_campus_answers_envelope_codes(server, http):
    from tests.clients.campus import signup

    user = await signup(http, server, "toolkit-user")
    call = "/api/events/CreateEvent"
    assert await user.post(call, {"name": "n", "time_from": 1}) == {"error": 2, "error_msg": "time_to"}
    assert await user.post(call, {"name": "n", "time_from": "soon", "time_to": None}) == {
        "error": 1, "error_msg": "invalid literal for int() with base 10: 'soon'"}
    assert await user.post(call, {"name": 5, "time_from": 1, "time_to": 2}) == {
        "error": 1, "error_msg": "name must be a string"}
    r = await http.post(server.url + "/accounts/login/", json_body={"username": "toolkit-user"})
    assert (r.code, r.body) == (200, b'{"error":1,"error_msg":"password is required"}')
    r = await http.post(server.url + "/accounts/login/", json_body={"username": "toolkit-user", "password": 5})
    assert r.body == b'{"error":1,"error_msg":"password must be a string"}'


def test_an_unreachable_database_is_recognised_by_type_not_name():
    import sqlite3

    import psycopg2

    from meetsrv.store.db import is_unavailable

    assert is_unavailable(sqlite3.OperationalError("database is locked"))
    assert is_unavailable(psycopg2.OperationalError("server closed the connection"))
    assert is_unavailable(psycopg2.InterfaceError("connection already closed"))
    assert is_unavailable(ConnectionRefusedError())

    class OperationalError(Exception):  # a look-alike name is not enough
        pass

    assert not is_unavailable(OperationalError())
    assert not is_unavailable(sqlite3.IntegrityError())

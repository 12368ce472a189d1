"""Phone door (seed 002): SMS codes, sign-in and sign-up, the attempt limit, the account."""

from __future__ import annotations

import io

import pytest_twisted

from tests.clients.images import png
from tests.clients.phone import PHONES, auth, last_code, send_code, sign_in, sign_up

P = PHONES[0]


@pytest_twisted.ensureDeferred
async def test_code_is_new_and_invalid_phones(server, http):
    url = server.url + "/api/auth/code/"
    r = await http.post(url, json_body={"phone": P})
    assert (r.code, r.json) == (201, {"is_new": True})
    code = last_code(server, P)
    assert len(code) == 5 and code.isdigit()
    for bad in ["+9250741413", "+792507414134", "+7250741413", "79250741413", "89250741413", "hello"]:
        r = await http.post(url, json_body={"phone": bad})
        assert (r.code, r.json) == (400, {"phone": ["Invalid phone number."]}), bad
    r = await http.post(url, json_body={"phone": ""})
    assert (r.code, r.json) == (400, {"phone": ["This field may not be blank."]})
    r = await http.post(url, json_body={})
    assert (r.code, r.json) == (400, {"phone": ["This field is required."]})
    r = await http.post(url, data=b"{nope", headers={"Content-Type": "application/json"})
    assert r.code == 400 and "detail" in r.json
    r = await http.post(url, json_body=[1])
    assert r.code == 400 and r.json == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    # form bodies work too; an existing user is not new
    await sign_up(http, server, PHONES[1])
    r = await http.post(url, data={"phone": PHONES[1]})
    assert (r.code, r.json) == (201, {"is_new": False})


@pytest_twisted.ensureDeferred
async def test_sign_in_voids_previous_token_and_wrong_code_before_unknown_phone(server, http):
    uid, first = await sign_up(http, server, P, name="Вася")
    r = await http.get(server.url + "/api/account/", headers=auth(first))
    assert r.code == 200 and r.json["id"] == uid
    uid2, second = await sign_in(http, server, P)
    assert uid2 == uid and second != first and len(second) == 40
    r = await http.get(server.url + "/api/account/", headers=auth(first))
    assert (r.code, r.json) == (401, {"detail": "Invalid token."})
    r = await http.get(server.url + "/api/account/", headers=auth(second))
    assert r.code == 200
    # unknown phone: a wrong code is reported first (400), a right one gives 404
    other = PHONES[2]
    code = await send_code(http, server, other)
    wrong = "00000" if code != "00000" else "11111"
    r = await http.post(server.url + "/api/auth/users/", json_body={"phone": other, "code": wrong})
    assert (r.code, r.json) == (400, {"code": ["Code is invalid."]})
    r = await http.post(server.url + "/api/auth/users/", json_body={"phone": other, "code": code})
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    # no code was ever sent: invalid
    r = await http.post(server.url + "/api/auth/users/", json_body={"phone": PHONES[3], "code": "12345"})
    assert (r.code, r.json) == (400, {"code": ["Code is invalid."]})


@pytest_twisted.ensureDeferred
async def test_confirm_field_errors(server, http):
    url = server.url + "/api/auth/users/"
    r = await http.post(url, json_body={"phone": "", "code": ""})
    assert (r.code, r.json) == (400, {"phone": ["This field may not be blank."], "code": ["This field may not be blank."]})
    r = await http.post(url, json_body={"phone": "+1", "code": "123"})
    assert (r.code, r.json) == (400, {"phone": ["Invalid phone number."],
                                      "code": ["Ensure this field has at least 5 characters."]})
    r = await http.post(url, json_body={"phone": P, "code": "123456", "is_new": "maybe"})
    assert r.code == 400
    assert r.json == {"code": ["Ensure this field has no more than 5 characters."],
                      "is_new": ['"maybe" is not a valid boolean.']}


@pytest_twisted.ensureDeferred
async def test_code_for_another_phone_and_code_used_once(server, http):
    code = await send_code(http, server, P)
    await send_code(http, server, PHONES[1])
    r = await http.post(server.url + "/api/auth/users/",
                        json_body={"phone": PHONES[1], "code": code, "is_new": True, "name": "x"})
    if last_code(server, PHONES[1]) != code:
        assert (r.code, r.json) == (400, {"code": ["Code is invalid."]})
    await sign_up(http, server, PHONES[2])
    code = await send_code(http, server, PHONES[2])
    r = await http.post(server.url + "/api/auth/users/", json_body={"phone": PHONES[2], "code": code})
    assert r.code == 201
    r = await http.post(server.url + "/api/auth/users/", json_body={"phone": PHONES[2], "code": code})
    assert (r.code, r.json) == (400, {"code": ["Code is invalid."]})


@pytest_twisted.ensureDeferred
async def test_new_code_voids_old_and_code_lives_five_minutes(start_server, http, clock):
    server = await start_server(clock=clock)
    await sign_up(http, server, P)
    old = await send_code(http, server, P)
    new = await send_code(http, server, P)
    url = server.url + "/api/auth/users/"
    if old != new:
        r = await http.post(url, json_body={"phone": P, "code": old})
        assert (r.code, r.json) == (400, {"code": ["Code is invalid."]})
    clock.advance(299)
    r = await http.post(url, json_body={"phone": P, "code": new})
    assert r.code == 201
    code = await send_code(http, server, P)
    clock.advance(301)
    r = await http.post(url, json_body={"phone": P, "code": code})
    assert (r.code, r.json) == (400, {"code": ["Code is invalid."]})


@pytest_twisted.ensureDeferred
async def test_attempt_limit_sends_and_wrong_codes(start_server, http, clock):
    server = await start_server(clock=clock)
    code_url, url = server.url + "/api/auth/code/", server.url + "/api/auth/users/"
    await sign_up(http, server, P)  # one send, then the right code resets the counter
    for _ in range(3):
        code = await send_code(http, server, P)
    wrong = "99999" if code != "99999" else "11111"
    r = await http.post(url, json_body={"phone": P, "code": wrong})
    assert r.code == 400  # 4 attempts
    r = await http.post(url, json_body={"phone": P, "code": wrong})
    assert r.code == 400  # 5 attempts
    r = await http.post(url, json_body={"phone": P, "code": code})
    assert (r.code, r.json) == (429, {"detail": "Request was throttled."})
    r = await http.post(code_url, json_body={"phone": P})
    assert (r.code, r.json) == (429, {"detail": "Request was throttled."})
    # other phones are not limited
    r = await http.post(code_url, json_body={"phone": PHONES[1]})
    assert r.code == 201
    clock.advance(5 * 60 + 1)
    code = await send_code(http, server, P)
    r = await http.post(url, json_body={"phone": P, "code": code})
    assert r.code == 201


@pytest_twisted.ensureDeferred
async def test_five_sends_then_throttled(start_server, http, clock):
    server = await start_server(clock=clock)
    for _ in range(5):
        await send_code(http, server, P)
    r = await http.post(server.url + "/api/auth/code/", json_body={"phone": P})
    assert (r.code, r.json) == (429, {"detail": "Request was throttled."})
    clock.advance(299)
    r = await http.post(server.url + "/api/auth/code/", json_body={"phone": P})
    assert r.code == 429
    clock.advance(2)
    await send_code(http, server, P)


@pytest_twisted.ensureDeferred
async def test_debug_code(start_server, http):
    plain = await start_server()
    r = await http.post(plain.url + "/api/auth/users/",
                        json_body={"phone": P, "code": "00000", "is_new": True, "name": "a"})
    assert (r.code, r.json) == (400, {"code": ["Code is invalid."]})
    debug = await start_server(debug=True)
    r = await http.post(debug.url + "/api/auth/users/", data={"phone": P, "code": "00000", "is_new": "true", "name": "a"},
                        files={"avatar": ("a.png", "image/png", io.BytesIO(png(4, 4)))})
    assert r.code == 201, r
    assert set(r.json) == {"token", "user_id"}


@pytest_twisted.ensureDeferred
async def test_sign_up_errors(server, http):
    url = server.url + "/api/auth/users/"
    await sign_up(http, server, PHONES[1])
    code = await send_code(http, server, PHONES[1])
    r = await http.post(url, data={"phone": PHONES[1], "code": code, "is_new": "true", "name": "x"},
                        files={"avatar": ("a.png", "image/png", io.BytesIO(png(4, 4)))})
    assert (r.code, r.json) == (400, {"phone": ["user with this phone already exists."]})
    code = await send_code(http, server, P)
    r = await http.post(url, json_body={"phone": P, "code": code, "is_new": True, "name": ""})
    assert (r.code, r.json) == (400, {"name": ["This field may not be blank."], "avatar": ["No file was submitted."]})
    # a refused sign-up does not spend the code (checked below: the same code still signs up)
    r = await http.post(url, data={"phone": P, "code": code, "is_new": "true"},
                        files={"avatar": ("a.png", "image/png", io.BytesIO(b"not an image"))})
    assert (r.code, r.json) == (400, {
        "name": ["This field is required."],
        "avatar": ["Upload a valid image. The file you uploaded was either not an image or a corrupted image."],
    })
    # nothing was created
    r = await http.post(server.url + "/api/auth/code/", json_body={"phone": P})
    assert r.json == {"is_new": True}


@pytest_twisted.ensureDeferred
async def test_a_refused_sign_up_keeps_the_code_and_a_made_one_spends_it(server, http):
    url = server.url + "/api/auth/users/"
    code = await send_code(http, server, P)
    r = await http.post(url, json_body={"phone": P, "code": code, "is_new": True, "name": ""})
    assert r.code == 400 and "name" in r.json
    r = await http.post(url, data={"phone": P, "code": code, "is_new": "true", "name": "Ann"},
                        files={"avatar": ("a.png", "image/png", io.BytesIO(png(4, 4)))})
    assert r.code == 201, r
    r = await http.post(url, json_body={"phone": P, "code": code})
    assert (r.code, r.json) == (400, {"code": ["Code is invalid."]})


@pytest_twisted.ensureDeferred
async def test_sign_up_links_waiting_contacts(server, http):
    a, ta = await sign_up(http, server, PHONES[1], name="A")
    r = await http.put(server.url + "/api/contacts/", headers=auth(ta),
                       json_body={"names": ["Future"], "phones": [P]})
    assert (r.code, r.json) == (200, [])
    b, tb = await sign_up(http, server, P, name="B")
    r = await http.get(server.url + "/api/contacts/", headers=auth(ta))
    assert r.code == 200
    assert [(u["id"], u["name"], u["phone"]) for u in r.json] == [(b, "Future", P)]


@pytest_twisted.ensureDeferred
async def test_account_get_patch_delete(server, http):
    uid, token = await sign_up(http, server, P, name="fff")
    r = await http.get(server.url + "/api/account/", headers=auth(token))
    assert r.code == 200
    a = r.json
    assert set(a) == {"id", "name", "phone", "created", "hidden_phone", "avatar"}
    assert (a["id"], a["name"], a["phone"], a["hidden_phone"]) == (uid, "fff", P, False)
    assert a["created"].endswith("Z") and "T" in a["created"]
    assert a["avatar"].startswith(server.services.base_url + "/media/images/")
    r = await http.get(a["avatar"].replace(server.services.base_url, server.url))
    assert r.code == 200 and r.body == png(4, 4)

    r = await http.patch(server.url + "/api/account/", headers=auth(token),
                         json_body={"name": "new", "phone": "+79250741419", "hidden_phone": True, "created": "x"})
    assert r.code == 200
    assert (r.json["name"], r.json["phone"], r.json["hidden_phone"], r.json["created"]) == ("new", P, True, a["created"])
    r = await http.patch(server.url + "/api/account/", headers=auth(token), json_body={"hidden_phone": False})
    assert r.json["hidden_phone"] is False and r.json["name"] == "new"
    r = await http.patch(server.url + "/api/account/", headers=auth(token), json_body={"name": ""})
    assert (r.code, r.json) == (400, {"name": ["This field may not be blank."]})
    new_png = png(3, 3, (0, 0, 255))
    r = await http.patch(server.url + "/api/account/", headers=auth(token),
                         files={"avatar": ("b.png", "image/png", io.BytesIO(new_png))})
    assert r.code == 200 and r.json["avatar"] != a["avatar"]
    got = await http.get(r.json["avatar"].replace(server.services.base_url, server.url))
    assert got.body == new_png
    r = await http.patch(server.url + "/api/account/", headers=auth(token),
                         files={"avatar": ("b.png", "image/png", io.BytesIO(b"GIF89a broken"))})
    assert (r.code, r.json) == (400, {"avatar": [
        "Upload a valid image. The file you uploaded was either not an image or a corrupted image."]})

    r = await http.delete(server.url + "/api/account/", headers=auth(token))
    assert (r.code, r.body) == (204, b"")
    r = await http.get(server.url + "/api/account/", headers=auth(token))
    assert (r.code, r.json) == (401, {"detail": "Invalid token."})


@pytest_twisted.ensureDeferred
async def test_too_large_image_refused(start_server, http):
    server = await start_server(max_image_pixels=100)
    code = await send_code(http, server, P)
    r = await http.post(server.url + "/api/auth/users/", data={"phone": P, "code": code, "is_new": "true", "name": "x"},
                        files={"avatar": ("a.png", "image/png", io.BytesIO(png(20, 20)))})
    assert r.code == 400 and list(r.json) == ["avatar"]


@pytest_twisted.ensureDeferred
async def test_authentication_errors(server, http):
    for path in ["/api/account/", "/api/users/?users=1", "/api/users/1", "/api/blacklist/", "/api/contacts/",
                 "/api/meetings/", "/api/meetings/1/"]:
        r = await http.get(server.url + path)
        assert (r.code, r.json) == (401, {"detail": "Authentication credentials were not provided."}), path
        assert r.header("www-authenticate") == "Token"
        r = await http.get(server.url + path, headers=auth("3da541559918a808c2402bba5012f6c60b27661c"))
        assert (r.code, r.json) == (401, {"detail": "Invalid token."}), path
    for method, path in [("PATCH", "/api/account/"), ("DELETE", "/api/account/"), ("PUT", "/api/blacklist/"),
                         ("DELETE", "/api/blacklist/"), ("PUT", "/api/contacts/"), ("DELETE", "/api/contacts/"),
                         ("POST", "/api/meetings/"), ("DELETE", "/api/meetings/1/"), ("PATCH", "/api/meetings/1/"),
                         ("PUT", "/api/meetings/1/users/"), ("DELETE", "/api/meetings/1/users/")]:
        r = await http.request(method, server.url + path, json_body={"user": 1},
                               headers=auth("3da541559918a808c2402bba5012f6c60b27661c"))
        assert (r.code, r.json) == (401, {"detail": "Invalid token."}), (method, path)
    # a token of another door's kind is not a phone token
    uid, _ = await sign_up(http, server, P)
    other = await server.services.credentials.issue(uid, "rooms")
    r = await http.get(server.url + "/api/account/", headers=auth(other))
    assert (r.code, r.json) == (401, {"detail": "Invalid token."})
    r = await http.get(server.url + "/api/account/", headers={"Authorization": "Token"})
    assert (r.code, r.json) == (401, {"detail": "Invalid token header. No credentials provided."})
    r = await http.get(server.url + "/api/nothing-here/")
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.post(server.url + "/api/account/", json_body={})
    assert r.code == 405


@pytest_twisted.ensureDeferred
async def test_http_sms_gateway_posts_the_code(start_server, http):
    import json

    from twisted.internet import defer, reactor
    from twisted.web import resource
    from twisted.web import server as web_server

    received = defer.DeferredQueue()

    class Gateway(resource.Resource):
        isLeaf = True

        def render_POST(self, request):
            received.put(json.loads(request.content.read()))
            return b"{}"

    port = reactor.listenTCP(0, web_server.Site(Gateway()), interface="127.0.0.1")
    try:
        server = await start_server(sms_gateway_url=f"http://127.0.0.1:{port.getHost().port}/send")
        r = await http.post(server.url + "/api/auth/code/", json_body={"phone": P})
        assert r.code == 201
        d = received.get()
        d.addTimeout(10, reactor)
        sent = await d
        assert sent["phone"] == P
        code = sent["text"].rsplit(" ", 1)[-1]
        r = await http.post(server.url + "/api/auth/users/", json_body={"phone": P, "code": code})
        assert (r.code, r.json) == (404, {"detail": "Not found."})  # the code was right
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_unsupported_media_type(server, http):
    r = await http.post(server.url + "/api/auth/code/", data=b"phone", headers={"Content-Type": "text/plain"})
    assert (r.code, r.json) == (415, {"detail": 'Unsupported media type "text/plain" in request.'})


@pytest_twisted.ensureDeferred
async def test_attempt_limit_holds_across_processes(start_server, http, clock):
    from tests.support.backends import REDIS

    if not REDIS:
        import pytest

        pytest.skip("two processes share limits through Redis only")
    one = await start_server(clock=clock)
    two = await start_server(clock=clock)
    for server in (one, two, one, two, one):
        await send_code(http, server, P)
    for server in (one, two):
        r = await http.post(server.url + "/api/auth/code/", json_body={"phone": P})
        assert (r.code, r.json) == (429, {"detail": "Request was throttled."})
    # a code sent through one process is checked by the other
    clock.advance(301)
    code = await send_code(http, one, P)
    r = await http.post(two.url + "/api/auth/users/", json_body={"phone": P, "code": code})
    assert (r.code, r.json) == (404, {"detail": "Not found."})


def test_sms_gateways_provide_the_interface():
    from zope.interface.verify import verifyObject

    from meetsrv.core.accounts.sms import HttpSmsGateway, ISmsGateway, LogSmsGateway

    assert verifyObject(ISmsGateway, LogSmsGateway())
    assert verifyObject(ISmsGateway, HttpSmsGateway("http://127.0.0.1:1/", reactor=None))

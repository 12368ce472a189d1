"""The social door (seed 000) through a real port: login, users, photos, meetings."""

from __future__ import annotations

import io
import json
import os

import pytest_twisted

from tests.clients.images import png
from tests.clients.social import auth, login

# -- login ----------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_signup_then_login_keeps_the_token(server, http):
    r = await http.post(server.url + "/api-token-auth/", json_body={
        "social_slug": "vk", "external_id": 112002, "token": "DJSKJDKSA", "first_name": "Ilia228"})
    assert r.code == 200
    assert set(r.json) == {"token", "href"}
    token = r.json["token"]
    assert len(token) == 40 and int(token, 16) >= 0
    assert r.json["href"].startswith(server.services.base_url + "/user-detail/")
    # the same identity, later, with another social token and name (form body, as upstream's test)
    r2 = await http.post(server.url + "/api-token-auth/", data={
        "social_slug": "vk", "external_id": "112002", "token": "OTHER", "first_name": "x"})
    assert r2.code == 200 and r2.json == r.json
    # another identity is another user
    other, other_id = await login(http, server, 112003)
    assert other != token
    me = await http.get(server.url + "/user-detail/", headers=auth(token))
    assert me.code == 200 and me.json["first_name"] == "Ilia228"
    assert me.json["href"] == r.json["href"]
    # the same external id at another provider is another user
    fb, fb_id = await login(http, server, 112002, slug="fb")
    assert fb != token


@pytest_twisted.ensureDeferred
async def test_token_survives_a_restart(start_server, http, make_settings):
    server = await start_server()
    token, _ = await login(http, server, 5)
    await server.stop()
    again = await start_server()
    r = await http.get(again.url + "/user-detail/", headers=auth(token))
    assert r.code == 200
    token2, _ = await login(http, again, 5)
    assert token2 == token


@pytest_twisted.ensureDeferred
async def test_login_validation(server, http):
    url = server.url + "/api-token-auth/"
    r = await http.post(url, json_body={})
    assert r.code == 400
    assert r.json == {k: ["This field is required."] for k in ("social_slug", "external_id", "token", "first_name")}
    good = {"social_slug": "vk", "external_id": 1, "token": "t", "first_name": "n"}
    for change, errors in (
        ({"external_id": "abc"}, {"external_id": ["A valid integer is required."]}),
        ({"external_id": True}, {"external_id": ["A valid integer is required."]}),
        ({"social_slug": "x" * 17}, {"social_slug": ["Ensure this field has no more than 16 characters."]}),
        ({"first_name": "x" * 33}, {"first_name": ["Ensure this field has no more than 32 characters."]}),
        ({"token": ""}, {"token": ["This field may not be blank."]}),
        ({"token": ["a"]}, {"token": ["Not a valid string."]}),
        ({"external_id": 0}, {"non_field_errors": [
            'Must include "social_slug", "external_id", "first_name" and "token".']}),
    ):
        r = await http.post(url, json_body=dict(good, **change))
        assert (r.code, r.json) == (400, errors), change
    r = await http.post(url, data=b"{nope", headers={"Content-Type": "application/json"})
    assert r.code == 400 and "JSON parse error" in r.json["detail"]
    r = await http.post(url, json_body=[1, 2])
    assert r.code == 400 and "non_field_errors" in r.json
    r = await http.post(url, data=b"hello", headers={"Content-Type": "text/plain"})
    assert r.code == 415
    # a bad Token header is refused even here (upstream's default authentication)
    r = await http.post(url, json_body=good, headers=auth("0" * 40))
    assert (r.code, r.json) == (401, {"detail": "Invalid token."})
    # nothing was created by the refused requests
    r = await http.post(url, json_body=good)
    assert r.code == 200 and r.json["href"].endswith("/user-detail/1/")


@pytest_twisted.ensureDeferred
async def test_authentication_errors(server, http):
    token, uid = await login(http, server, 1)
    for path in ("/user-detail/", f"/user-detail/{uid}/", "/meetings-list/", "/meeting-types/",
                 "/confirms-list/", "/unread-confirms/", "/chats-list/", "/message-list/1/"):
        r = await http.get(server.url + path)
        assert (r.code, r.json) == (401, {"detail": "Authentication credentials were not provided."}), path
        assert r.header("www-authenticate") == "Token"
        r = await http.get(server.url + path, headers={"Authorization": "228"})
        assert r.code == 401, path
        r = await http.get(server.url + path, headers={"Authorization": token})  # no "Token " prefix
        assert r.code == 401, path
        r = await http.get(server.url + path, headers=auth("3da541559918a808c2402bba5012f6c60b27661c"))
        assert (r.code, r.json) == (401, {"detail": "Invalid token."}), path
    r = await http.get(server.url + "/user-detail/", headers={"Authorization": "Token"})
    assert r.json == {"detail": "Invalid token header. No credentials provided."}
    r = await http.get(server.url + "/user-detail/", headers={"Authorization": "Token a b"})
    assert r.json == {"detail": "Invalid token header. Token string should not contain spaces."}
    for method, path in (("PUT", "/upload-photo/a.png"), ("PUT", "/set-avatar/1/"), ("DELETE", "/delete-photo/1/"),
                         ("POST", "/meetings-list/"), ("PUT", "/meeting-detail/1/"), ("POST", "/meeting-confirm/1/"),
                         ("PUT", "/confirm-action/1/"), ("PUT", "/user-detail/1/")):
        r = await http.request(method, server.url + path)
        assert r.code == 401, path


@pytest_twisted.ensureDeferred
async def test_unknown_paths_and_methods(server, http):
    token, uid = await login(http, server, 1)
    r = await http.get(server.url + "/user-detail/abc/", headers=auth(token))
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.request("PATCH", server.url + f"/user-detail/{uid}/", headers=auth(token))
    assert (r.code, r.json) == (405, {"detail": 'Method "PATCH" not allowed.'})
    r = await http.get(server.url + "/api-token-auth/")
    assert r.code == 405


# -- the provider verifier -------------------------------------------------------------------

class FakeProvider:
    """A provider served by the test: tokens "good-<id>" belong to external id <id>."""

    def __init__(self):
        self.seen = []

    def resource(self):
        from twisted.web.resource import Resource

        provider = self

        class Verify(Resource):
            isLeaf = True

            def render_POST(self, request):
                body = json.loads(request.content.read())
                provider.seen.append(body)
                token = body.get("token", "")
                if not token.startswith("good-"):
                    request.setResponseCode(401)
                    return b'{"error": "invalid token"}'
                return json.dumps({"external_id": token[len("good-"):]}).encode()

        return Verify()


@pytest_twisted.ensureDeferred
async def test_configured_verifier_checks_the_token(start_server, http):
    from twisted.internet import reactor
    from twisted.web.server import Site

    provider = FakeProvider()
    port = reactor.listenTCP(0, Site(provider.resource()), interface="127.0.0.1")
    try:
        server = await start_server(social_verifier_url=f"http://127.0.0.1:{port.getHost().port}/verify")
        url = server.url + "/api-token-auth/"
        body = {"social_slug": "vk", "external_id": 77, "first_name": "A"}
        r = await http.post(url, json_body=dict(body, token="good-77"))
        assert r.code == 200 and len(r.json["token"]) == 40
        assert provider.seen[-1] == {"social_slug": "vk", "external_id": "77", "token": "good-77"}
        # a token of somebody else, and a token the provider does not know
        for token in ("good-78", "bad"):
            r = await http.post(url, json_body=dict(body, token=token))
            assert (r.code, r.json) == (400, {"non_field_errors": ["Unable to log in with provided credentials."]})
        # nobody was signed up as 78
        r = await http.post(url, json_body=dict(body, external_id=78, token="good-78"))
        assert r.code == 200 and r.json["href"].endswith("/user-detail/2/")
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_unreachable_verifier_is_503(start_server, http):
    from twisted.internet import reactor
    from twisted.web.server import Site

    port = reactor.listenTCP(0, Site(FakeProvider().resource()), interface="127.0.0.1")
    free = port.getHost().port
    await port.stopListening()
    server = await start_server(social_verifier_url=f"http://127.0.0.1:{free}/verify")
    r = await http.post(server.url + "/api-token-auth/",
                        json_body={"social_slug": "vk", "external_id": 1, "token": "good-1", "first_name": "A"})
    assert r.code == 503


@pytest_twisted.ensureDeferred
async def test_trusting_the_client_warns_at_start(start_server, http):
    # the test servers run with --social-trust-client (conftest); without it logins fail
    # closed (test_hardening.py)
    from twisted.logger import globalLogPublisher

    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        server = await start_server()
    finally:
        globalLogPublisher.removeObserver(seen.append)
    assert any("SOCIAL LOGINS ARE NOT VERIFIED" in (e.get("log_format") or "") for e in seen)
    # and it trusts the client's word
    token, _ = await login(http, server, 9, token="anything")
    assert len(token) == 40


@pytest_twisted.ensureDeferred
async def test_parallel_first_logins_make_one_user(server, http):
    from twisted.internet import defer

    body = {"social_slug": "vk", "external_id": 31337, "token": "t", "first_name": "n"}
    results = await defer.gatherResults([
        defer.ensureDeferred(http.post(server.url + "/api-token-auth/", json_body=body)) for _ in range(5)])
    assert {r.code for r in results} == {200}
    assert len({(r.json["token"], r.json["href"]) for r in results}) == 1


# -- users -----------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_user_detail_and_partial_update(server, http):
    token, uid = await login(http, server, 1)
    other, other_id = await login(http, server, 2, first_name="Other")
    base = server.services.base_url
    r = await http.get(server.url + f"/user-detail/{uid}/", headers=auth(other))
    assert r.code == 200
    assert r.json == {"id": uid, "first_name": "Ilia228", "about": "", "birth_date": None, "gender": None,
                      "avatar": "", "photos": [], "href": f"{base}/user-detail/{uid}/"}
    r = await http.get(server.url + "/user-detail/999/", headers=auth(token))
    assert (r.code, r.json) == (200, {"status": 400, "msg": "User does not exist", "data": None})
    r = await http.get(server.url + "/user-detail/99999999999/", headers=auth(token))
    assert r.json["status"] == 400

    # the document's own example: username, firs_name, about
    r = await http.put(server.url + f"/user-detail/{uid}/", headers=auth(token),
                       json_body={"username": "new_nick", "firs_name": "new first name", "about": "new about"})
    assert r.code == 200
    assert r.json["first_name"] == "new first name" and r.json["about"] == "new about"
    assert r.json["birth_date"] is None
    # the full form, as upstream's test
    r = await http.put(server.url + f"/user-detail/{uid}/", headers=auth(token),
                       json_body={"about": "a", "first_name": "F", "gender": 1, "birth_date": "1990-05-17"})
    assert (r.json["about"], r.json["first_name"], r.json["gender"], r.json["birth_date"]) == ("a", "F", 1, "1990-05-17")
    # without an id: yourself
    r = await http.put(server.url + "/user-detail/", headers=auth(token), json_body={"about": "me"})
    assert r.code == 200 and r.json["id"] == uid and r.json["about"] == "me" and r.json["gender"] == 1
    # somebody else's profile, or one that does not exist
    for target in (other_id, 999):
        r = await http.put(server.url + f"/user-detail/{target}/", headers=auth(token), json_body={"about": "x"})
        assert (r.code, r.json) == (403, {"detail": "You do not have permission to perform this action."})
    r = await http.get(server.url + f"/user-detail/{other_id}/", headers=auth(token))
    assert r.json["about"] == ""
    # validation
    for body, field in (({"gender": 5}, "gender"), ({"birth_date": "17.05.1990"}, "birth_date"),
                        ({"birth_date": "1990-02-30"}, "birth_date"), ({"about": "x" * 257}, "about"),
                        ({"first_name": "x" * 31}, "first_name")):
        r = await http.put(server.url + f"/user-detail/{uid}/", headers=auth(token), json_body=body)
        assert r.code == 400 and list(r.json) == [field], body
    r = await http.get(server.url + "/user-detail/", headers=auth(token))
    assert r.json["about"] == "me"


@pytest_twisted.ensureDeferred
async def test_username_is_accepted_and_ignored(server, http):
    """The LetsGo app sends the name it shows as `username` with every profile edit; upstream
    never wrote it, so it is never refused (spaces, Cyrillic, another user's) and never stored."""
    from sqlalchemy import select

    from meetsrv.store.tables import users

    anna, anna_id = await login(http, server, 1, first_name="Анна")
    maria, maria_id = await login(http, server, 2, first_name="Анна Мария")
    stored = {r["id"]: r["username"] for r in await server.db.rows("test.usernames", select(users.c.id, users.c.username))}
    for token, uid, name in ((anna, anna_id, "Анна"), (maria, maria_id, "Анна Мария"), (maria, maria_id, "Анна")):
        r = await http.put(server.url + f"/user-detail/{uid}/", headers=auth(token),
                           json_body={"username": name, "first_name": name, "about": f"about {name}"})
        assert r.code == 200, r
        assert (r.json["first_name"], r.json["about"]) == (name, f"about {name}")
        assert "username" not in r.json
    # a username alone, or a bad one, changes nothing and is not an error
    for junk in ("bad name!", "", None, 5, "x" * 300):
        r = await http.put(server.url + "/user-detail/", headers=auth(anna), json_body={"username": junk})
        assert r.code == 200 and r.json["first_name"] == "Анна", (junk, r)
    # a form body (the app's other encoding) too
    r = await http.put(server.url + "/user-detail/", headers=auth(anna), data={"username": "Анна", "about": "форма"})
    assert r.code == 200 and r.json["about"] == "форма"
    after = {r["id"]: r["username"] for r in await server.db.rows("test.usernames", select(users.c.id, users.c.username))}
    assert after == stored


@pytest_twisted.ensureDeferred
async def test_birth_date_as_django_parse_date(server, http):
    """birth_date takes a month and a day of one or two digits (Django's parse_date, which the
    LetsGo app relies on) and is always given back as YYYY-MM-DD."""
    token, uid = await login(http, server, 1)
    for sent, shown in (("1990-5-7", "1990-05-07"), ("1990-05-7", "1990-05-07"), ("1990-5-17", "1990-05-17"),
                        ("2000-12-31", "2000-12-31"), ("2000-2-29", "2000-02-29"), (" 1991-1-1 ", "1991-01-01")):
        r = await http.put(server.url + "/user-detail/", headers=auth(token), json_body={"birth_date": sent})
        assert (r.code, r.json["birth_date"]) == (200, shown), sent
        r = await http.get(server.url + f"/user-detail/{uid}/", headers=auth(token))
        assert r.json["birth_date"] == shown
    r = await http.put(server.url + "/user-detail/", headers=auth(token), data={"birth_date": "1989-3-4"})
    assert r.json["birth_date"] == "1989-03-04"
    bad = ("1990-2-30", "1990-13-1", "1990-0-10", "1990-1-0", "0000-1-1", "1990-001-1", "1990-1-123",
           "90-1-1", "1990/1/1", "1990-1", "1990-01-01T00:00", "١٩٩٠-١-١", "１９９０-1-1", "", 19900101)
    for sent in bad:
        r = await http.put(server.url + "/user-detail/", headers=auth(token), json_body={"birth_date": sent})
        assert (r.code, r.json) == (400, {"birth_date": [
            "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]."]}), sent
    r = await http.get(server.url + "/user-detail/", headers=auth(token))
    assert r.json["birth_date"] == "1989-03-04"


# -- photos ----------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_photos_upload_avatar_delete(server, http):
    token, uid = await login(http, server, 1)
    other, other_id = await login(http, server, 2)
    base = server.services.base_url
    body = png()
    r = await http.put(server.url + "/upload-photo/55.jpg", headers=dict(auth(token), **{
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}), data=body)
    assert r.code == 200 and r.json["status"] == 204 and r.json["msg"] == "ok"
    # the name keeps its stem, the extension is what the file is
    first_url = r.json["data"]["href"]
    assert first_url == f"{base}/media/user-photos/55.png"
    fetched = await http.get(server.url + "/media/user-photos/55.png")
    assert fetched.code == 200 and fetched.body == body
    # the same name again is stored beside it
    r = await http.put(server.url + "/upload-photo/55.jpg", headers=auth(token), data=png(color=(0, 0, 255)))
    second_url = r.json["data"]["href"]
    assert second_url != first_url and second_url.endswith(".png")
    me = (await http.get(server.url + "/user-detail/", headers=auth(token))).json
    assert me["avatar"] == first_url  # the first photo became the avatar
    assert [p["photo"] for p in me["photos"]] == [first_url, second_url]
    first, second = me["photos"]
    assert set(first) == {"id", "photo", "set_avatar", "delete_photo"}
    assert first["set_avatar"] == f"{base}/set-avatar/{first['id']}/"
    assert first["delete_photo"] == f"{base}/delete-photo/{first['id']}/"

    # set-avatar and delete-photo: owner only
    r = await http.put(server.url + f"/set-avatar/{second['id']}/", headers=auth(other))
    assert r.code == 403
    r = await http.delete(server.url + f"/delete-photo/{second['id']}/", headers=auth(other))
    assert r.code == 403
    for path in ("/set-avatar/999/", "/delete-photo/999/"):
        r = await http.request("PUT" if "set" in path else "DELETE", server.url + path, headers=auth(token))
        assert r.code == 403
    r = await http.put(server.url + f"/set-avatar/{second['id']}/", headers=auth(token))
    assert (r.code, r.json) == (200, {"status": 200, "msg": "ok", "data": None})
    me = (await http.get(server.url + "/user-detail/", headers=auth(token))).json
    assert me["avatar"] == second_url and me["photos"][0]["id"] == second["id"]
    # another user's view shows the avatar too
    short = (await http.get(server.url + f"/user-detail/{uid}/", headers=auth(other))).json
    assert short["avatar"] == second_url

    r = await http.delete(server.url + f"/delete-photo/{second['id']}/", headers=auth(token))
    assert (r.code, r.json) == (200, {"status": 204, "msg": "ok", "data": None})
    me = (await http.get(server.url + "/user-detail/", headers=auth(token))).json
    assert me["avatar"] == first_url and len(me["photos"]) == 1
    assert not os.path.exists(os.path.join(server.settings.media, "user-photos", second_url.rsplit("/", 1)[1]))
    r = await http.delete(server.url + f"/delete-photo/{first['id']}/", headers=auth(token))
    me = (await http.get(server.url + "/user-detail/", headers=auth(token))).json
    assert me["avatar"] == "" and me["photos"] == []


@pytest_twisted.ensureDeferred
async def test_upload_refusals(start_server, http):
    server = await start_server(max_image_pixels=10_000, max_body=200_000)
    token, uid = await login(http, server, 1)
    r = await http.put(server.url + "/upload-photo/a.jpg", headers=auth(token), data=b"")
    assert r.json == {"status": 400, "msg": "error: no file in request", "data": None}
    truncated = png(50, 50)[:-30]
    for data in (b"<html><script>alert(1)</script></html>", truncated, png(200, 100)):
        r = await http.put(server.url + "/upload-photo/evil.html", headers=auth(token), data=data)
        assert r.code == 200 and r.json["status"] == 400 and r.json["data"] is None, r
    r = await http.put(server.url + "/upload-photo/big.png", headers=auth(token), data=b"x" * 300_000)
    assert r.code == 413
    me = (await http.get(server.url + "/user-detail/", headers=auth(token))).json
    assert me["photos"] == [] and me["avatar"] == ""
    assert os.listdir(os.path.join(server.settings.media, "user-photos")) == [] if os.path.isdir(
        os.path.join(server.settings.media, "user-photos")) else True
    # a multipart upload (httpie without -f redirect) is read as its file
    r = await http.put(server.url + "/upload-photo/x.png", headers=auth(token),
                       files={"file": ("x.png", "image/png", io.BytesIO(png()))})
    assert r.json["status"] == 204
    # a path-looking name stays inside the folder
    r = await http.put(server.url + "/upload-photo/..%2F..%2Fescape.png", headers=auth(token), data=png())
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.put(server.url + "/upload-photo/..escape.png", headers=auth(token), data=png())
    assert r.json["data"]["href"].endswith("/media/user-photos/escape.png")

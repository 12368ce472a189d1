"""The campus door (seed 001) through a real port: envelope, sessions, CSRF, profiles, friends, events."""

from __future__ import annotations

import base64

import pytest_twisted

from tests.clients.base import http  # noqa: F401  (no shared cookie jar)
from tests.clients.campus import User, cookies_of, create_event, signup
from tests.clients.images import jpeg_b64, png

OK = {"error": 0, "error_msg": ""}


def err(code, msg):
    return {"error": code, "error_msg": msg}


# -- sessions ---------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_signup_login_logout(server, http):
    url = server.url
    r = await http.post(url + "/accounts/signup/", json_body={"username": "Вася", "password": "pw1"})
    assert (r.code, r.json) == (200, OK)
    cookies = cookies_of(r)
    assert len(cookies["sessionid"]) >= 32 and len(cookies["csrftoken"]) >= 32
    raw = " ".join(r.headers.getRawHeaders("set-cookie"))
    assert "HttpOnly" in raw and "Path=/" in raw

    r = await http.get(url + "/api/auth/GetCurrentUserId", headers={"Cookie": f"sessionid={cookies['sessionid']}"})
    uid = r.json["response"]["user_id"]
    assert r.code == 200 and r.json["error"] == 0 and isinstance(uid, int)
    # signed out: null
    r = await http.get(url + "/api/auth/GetCurrentUserId")
    assert r.json == {"error": 0, "error_msg": "", "response": {"user_id": None}}

    # the account is as the contract says: display name = username, karma 0, not confirmed
    u = User(http, server, "Вася")
    u.cookies = cookies
    p = await u.get("/api/profile/GetProfile", params={"user_id": str(uid)})
    assert p["response"] == {"display_name": "Вася", "pic": "https://i.imgur.com/erdtqth.jpg",
                             "confirmed": False, "bio": "", "karma": 0}

    # taken username; wrong credentials
    r = await http.post(url + "/accounts/signup", json_body={"username": "Вася", "password": "x"})
    assert r.json == err(1, "Username is already taken")
    r = await http.post(url + "/accounts/login/", json_body={"username": "Вася", "password": "wrong"})
    assert r.json == err(3, "Wrong username or password") and not cookies_of(r)
    r = await http.post(url + "/accounts/login/", json_body={"username": "nobody", "password": "pw1"})
    assert r.json == err(3, "Wrong username or password")

    # login as a form, too
    r = await http.post(url + "/accounts/login/", data={"username": "Вася", "password": "pw1"})
    assert r.json == OK
    second = cookies_of(r)["sessionid"]
    assert second != cookies["sessionid"]
    u2 = User(http, server, "Вася")
    u2.cookies = cookies_of(r)
    assert (await u2.get("/api/auth/GetCurrentUserId"))["response"]["user_id"] == uid

    # logout ends that session (and only that one); the cookie is cleared
    out = await u2.post("/accounts/logout/")
    assert out == OK
    assert u2.cookies["sessionid"] == ""
    r = await http.get(url + "/api/auth/GetCurrentUserId", headers={"Cookie": f"sessionid={second}"})
    assert r.json["response"] == {"user_id": None}
    assert (await u.get("/api/auth/GetCurrentUserId"))["response"]["user_id"] == uid
    # logging out when signed out is fine
    r = await http.post(url + "/accounts/logout/", json_body={})
    assert r.json == OK


@pytest_twisted.ensureDeferred
async def test_account_input_errors(server, http):
    url = server.url
    for body, expected in (
        ({}, err(1, "username is required")),
        ({"username": "a"}, err(1, "password is required")),
        ({"username": 5, "password": "x"}, err(1, "username must be a string")),
        ({"username": "a", "password": ["x"]}, err(1, "password must be a string")),
        ({"username": "   ", "password": "x"}, err(1, "Invalid username")),
        ({"username": "a" * 151, "password": "x"}, err(1, "Invalid username")),
        ({"username": "a", "password": ""}, err(1, "Invalid password")),
    ):
        for path in ("/accounts/signup/", "/accounts/login/"):
            r = await http.post(url + path, json_body=body)
            assert (r.code, r.json) == (200, expected), (path, body)
    r = await http.post(url + "/accounts/login/", data=b"not json", headers={"Content-Type": "application/json"})
    assert r.json == err(1, "Invalid JSON")
    r = await http.post(url + "/accounts/login/", data=b"[1]", headers={"Content-Type": "application/json"})
    assert r.json == err(1, "A JSON object expected")
    r = await http.post(url + "/accounts/login/", data=b"x", headers={"Content-Type": "text/plain"})
    assert r.json == err(4, "json content expected")
    r = await http.get(url + "/accounts/login/", params={"username": "a", "password": "b"})
    assert r.json == err(3, "Method not allowed")
    # nothing was created by the refused requests
    r = await http.get(url + "/api/profile/FindByName")
    assert r.json["response"] == {"users": []}


@pytest_twisted.ensureDeferred
async def test_login_attempts_are_limited_per_username(server, http):
    await signup(http, server, "petya")
    for _ in range(10):
        r = await http.post(server.url + "/accounts/login/", json_body={"username": "petya", "password": "bad"})
        assert r.json == err(3, "Wrong username or password")
    r = await http.post(server.url + "/accounts/login/", json_body={"username": "petya", "password": "secret-pw"})
    assert r.json == err(3, "Too many failed logins, try again later")


@pytest_twisted.ensureDeferred
async def test_csrf_on_cookie_authenticated_posts(server, http):
    u = await signup(http, server, "masha")
    body = {"bio": "ФКН"}
    assert await u.post("/api/profile/UpdateProfileInfo", body, csrf=False) == err(3, "CSRF verification failed")
    bad = {"X-CSRFToken": "x" * 43}
    assert await u.post("/api/profile/UpdateProfileInfo", body, csrf=False, headers=bad) == err(
        3, "CSRF verification failed")
    # the check comes first (Django's middleware), even before the content type
    assert await u.post("/api/profile/UpdateProfileInfo", raw=b"x", csrf=False,
                        headers={"Content-Type": "text/plain"}) == err(3, "CSRF verification failed")
    p = await u.get("/api/profile/GetProfile", params={"user_id": u.id})
    assert p["response"]["bio"] == ""  # nothing changed
    assert await u.post("/api/profile/UpdateProfileInfo", body) == OK
    p = await u.get("/api/profile/GetProfile", params={"user_id": u.id})
    assert p["response"]["bio"] == "ФКН"
    # a Token header needs no CSRF: the campus session works as a token too
    r = await http.post(server.url + "/api/profile/UpdateProfileInfo", json_body={"bio": "ВМК"},
                        headers={"Authorization": f"Token {u.cookies['sessionid']}"})
    assert r.json == OK
    # logout is a cookie-authenticated POST as well
    assert await u.post("/accounts/logout/", csrf=False) == err(3, "CSRF verification failed")


@pytest_twisted.ensureDeferred
async def test_tokens_of_the_social_and_phone_doors(server, http):
    u = await signup(http, server, "kolya")
    creds = server.services.credentials
    for kind in ("social", "phone"):
        token = await creds.issue(u.id, kind)
        r = await http.get(server.url + "/api/auth/GetCurrentUserId", headers={"Authorization": f"Token {token}"})
        assert r.json["response"] == {"user_id": u.id}
        r = await http.post(server.url + "/api/profile/UpdateProfileInfo", json_body={"display_name": kind},
                            headers={"Authorization": f"Token {token}"})
        assert r.json == OK
        # logging out of the campus door does not end another door's token
        r = await http.post(server.url + "/accounts/logout/", json_body={}, headers={"Authorization": f"Token {token}"})
        assert r.json == OK
        r = await http.get(server.url + "/api/auth/GetCurrentUserId", headers={"Authorization": f"Token {token}"})
        assert r.json["response"] == {"user_id": u.id}
    other = await creds.issue(u.id, "rooms")
    for token in (other, "0" * 40):
        r = await http.get(server.url + "/api/friends/GetFriendList", headers={"Authorization": f"Token {token}"})
        assert r.json == err(3, "Login required")


@pytest_twisted.ensureDeferred
async def test_checks_in_upstream_order(server, http):
    url = server.url + "/api/events/CreateEvent"
    # content type first
    r = await http.post(url, data=b"name=x", headers={"Content-Type": "text/plain"})
    assert r.json == err(4, "json content expected")
    # argument types before required arguments
    r = await http.post(url, json_body={"time_from": "abc"})
    assert r.json == err(1, "invalid literal for int() with base 10: 'abc'")
    # required arguments, in order, before method and login
    r = await http.post(url, json_body={"time_from": 1})
    assert r.json == err(2, "name")
    r = await http.post(url, json_body={"name": "x", "time_from": 1})
    assert r.json == err(2, "time_to")
    r = await http.get(url, params={"name": "x", "time_from": "1", "time_to": "2"})
    assert r.json == err(3, "Method not allowed")
    r = await http.post(url, json_body={"name": "x", "time_from": 1, "time_to": 2})
    assert r.json == err(3, "Login required")
    # every answer is HTTP 200 with the envelope; response left out when there is nothing
    for path in ("/api/friends/GetFriendList", "/api/friends/GetFriendRequests", "/api/events/GetCreatedEvents",
                 "/api/events/GetJoinedEvents"):
        r = await http.get(server.url + path)
        assert (r.code, r.json) == (200, err(3, "Login required")), path
    # the method is checked before the login
    r = await http.get(server.url + "/api/profile/UpdateProfileInfo")
    assert r.json == err(3, "Method not allowed")
    r = await http.get(server.url + "/api/profile/GetProfile")
    assert r.json == err(2, "user_id")
    # unknown paths
    r = await http.get(server.url + "/api/profile/NoSuchMethod")
    assert (r.code, r.json) == (404, err(5, "Not found"))


# -- profiles ---------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_profile_get_and_update(server, http):
    u = await signup(http, server, "ivan")
    for bad in ("none", "999999", "-1", "1.5"):
        assert await u.get("/api/profile/GetProfile", params={"user_id": bad}) == err(1, "User profile does not exist")
    assert await u.post("/api/profile/UpdateProfileInfo", {}) == err(2, "Bio or name are required")
    assert await u.post("/api/profile/UpdateProfileInfo", {"display_name": "Иван Иванов"}) == OK
    assert await u.post("/api/profile/UpdateProfileInfo", {"bio": "МФТИ, ФИВТ"}) == OK
    p = await u.get("/api/profile/GetProfile", params={"user_id": u.id})
    assert p == {"error": 0, "error_msg": "", "response": {
        "display_name": "Иван Иванов", "pic": "https://i.imgur.com/erdtqth.jpg", "confirmed": False,
        "bio": "МФТИ, ФИВТ", "karma": 0}}
    for body, expected in (
        ({"display_name": 5}, err(1, "display_name must be a string")),
        ({"bio": None, "display_name": None}, err(2, "Bio or name are required")),
        ({"display_name": "x" * 129}, err(1, "display_name is too long")),
        ({"display_name": "  "}, err(1, "display_name is empty")),
        ({"bio": "b" * 129}, err(1, "bio is too long")),
    ):
        assert await u.post("/api/profile/UpdateProfileInfo", body) == expected, body
    p2 = await u.get("/api/profile/GetProfile", params={"user_id": u.id})
    assert p2 == p


@pytest_twisted.ensureDeferred
async def test_profile_picture(start_server, http):
    server = await start_server(max_image_pixels=10_000)
    u = await signup(http, server, "olga")
    assert await u.post("/api/profile/UpdateProfilePicture", {"name": "a.jpg"}) == err(2, "image")
    assert await u.post("/api/profile/UpdateProfilePicture", {"image": jpeg_b64()}) == err(2, "name")
    assert await u.post("/api/profile/UpdateProfilePicture", {"image": "!!!", "name": "a.jpg"}) == err(1, "Invalid image")
    not_image = base64.b64encode(b"hello, not an image").decode()
    assert await u.post("/api/profile/UpdateProfilePicture", {"image": not_image, "name": "a.jpg"}) == err(
        1, "Invalid image")
    big = base64.b64encode(png(200, 100)).decode()  # 20 000 pixels > the limit
    assert await u.post("/api/profile/UpdateProfilePicture", {"image": big, "name": "a.png"}) == err(1, "Invalid image")
    p = await u.get("/api/profile/GetProfile", params={"user_id": u.id})
    assert p["response"]["pic"] == "https://i.imgur.com/erdtqth.jpg"

    # base64 JSON
    assert await u.post("/api/profile/UpdateProfilePicture", {"image": jpeg_b64(), "name": "test avatar.jpg"}) == OK
    pic = (await u.get("/api/profile/GetProfile", params={"user_id": u.id}))["response"]["pic"]
    assert pic.startswith(f"http://localhost:{server.port.getHost().port}/media/avatars/{u.id}_") and pic.endswith(".jpg")
    r = await http.get(server.url + pic.split(str(server.port.getHost().port), 1)[1])
    assert r.code == 200 and r.body[:2] == b"\xff\xd8"

    # multipart file; the extension follows the real format
    data = png()
    assert await u.post("/api/profile/UpdateProfilePicture", files={"image": ("me.jpg", "image/jpeg", data)}) == OK
    pic2 = (await u.get("/api/profile/GetProfile", params={"user_id": u.id}))["response"]["pic"]
    assert pic2 != pic and pic2.endswith(".png")
    r = await http.get(server.url + "/media/" + pic.split("/media/", 1)[1])
    assert r.code == 404  # the replaced picture is gone
    r = await http.get(server.url + "/media/" + pic2.split("/media/", 1)[1])
    assert r.body == data
    assert await u.post("/api/profile/UpdateProfilePicture", files={"image": ("x.png", "image/png", b"junk")}) == err(
        1, "Invalid image")


@pytest_twisted.ensureDeferred
async def test_profile_confirmation_waits_for_staff(server, http):
    u = await signup(http, server, "sveta")
    assert await u.post("/api/profile/UploadProfileConfirmation", {}) == err(2, "image")
    assert await u.post("/api/profile/UploadProfileConfirmation", {"image": "bm90IGFuIGltYWdl"}) == err(1, "Invalid image")
    services = server.services
    await services.user_store.update(u.id, confirmed=True)  # staff approved an earlier scan
    assert (await u.get("/api/profile/GetProfile", params={"user_id": u.id}))["response"]["confirmed"] is True

    assert await u.post("/api/profile/UploadProfileConfirmation", {"image": jpeg_b64(), "name": "scan.jpg"}) == OK
    assert (await u.get("/api/profile/GetProfile", params={"user_id": u.id}))["response"]["confirmed"] is False
    scans = await services.profiles.store.confirmations(u.id)
    assert len(scans) == 1 and scans[0]["reviewed"] is None and scans[0]["path"].startswith("confirmations/")
    # a new scan replaces the old one; multipart works too
    assert await u.post("/api/profile/UploadProfileConfirmation",
                        files={"image": ("scan.png", "image/png", png())}) == OK
    scans2 = await services.profiles.store.confirmations(u.id)
    assert len(scans2) == 1 and scans2[0]["path"] != scans[0]["path"]
    # a big scan (its base64 is decoded on a thread)
    import io
    import os

    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (160, 160), os.urandom(160 * 160 * 3)).save(buf, "PNG")
    big = base64.b64encode(buf.getvalue()).decode()
    assert len(big) > 64 * 1024
    assert await u.post("/api/profile/UploadProfileConfirmation", {"image": big}) == OK
    assert await u.post("/api/profile/UploadProfileConfirmation", {"image": big[:-8] + "!!!!!!!!"}) == err(
        1, "Invalid image")
    # staff approve the waiting scan (once)
    assert await services.profiles.review_confirmation(u.id, True) is True
    assert await services.profiles.review_confirmation(u.id, True) is False
    assert (await u.get("/api/profile/GetProfile", params={"user_id": u.id}))["response"]["confirmed"] is True
    # scans are not shown in the profile
    assert (await u.get("/api/profile/GetProfile", params={"user_id": u.id}))["response"]["pic"].startswith("https://i.imgur")


@pytest_twisted.ensureDeferred
async def test_find_by_name(server, http):
    a = await signup(http, server, "Василий")
    await signup(http, server, "ВАСИЛИСА")
    await signup(http, server, "Петр")
    await signup(http, server, "100%_done")
    r = await http.get(server.url + "/api/profile/FindByName", params={"display_name_part": "васи"})
    assert r.json["error"] == 0
    assert sorted(x["display_name"] for x in r.json["response"]["users"]) == ["ВАСИЛИСА", "Василий"]
    assert set(r.json["response"]["users"][0]) == {"user_id", "display_name"}
    r = await http.get(server.url + "/api/profile/FindByName", params={"display_name_part": "вас"})
    assert r.json == err(1, "Name part is too short")
    r = await http.get(server.url + "/api/profile/FindByName", params={"display_name_part": "noexisting"})
    assert r.json["response"] == {"users": []}
    r = await http.get(server.url + "/api/profile/FindByName", params={"display_name_part": "0%_d"})
    assert [x["display_name"] for x in r.json["response"]["users"]] == ["100%_done"]
    r = await http.get(server.url + "/api/profile/FindByName", params={"display_name_part": "%%%%"})
    assert r.json["response"] == {"users": []}
    r = await http.get(server.url + "/api/profile/FindByName")
    assert len(r.json["response"]["users"]) == 4
    # a new display name is found
    await a.post("/api/profile/UpdateProfileInfo", {"display_name": "Ёжик в тумане"})
    r = await http.get(server.url + "/api/profile/FindByName", params={"display_name_part": "ЁЖИК"})
    assert r.json["response"]["users"] == [{"user_id": a.id, "display_name": "Ёжик в тумане"}]


# -- friends ----------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_friends(server, http):
    a = await signup(http, server, "anna")
    b = await signup(http, server, "boris")
    c = await signup(http, server, "clara")
    assert await a.get("/api/friends/GetFriendList") == {"error": 0, "error_msg": "", "response": {"friends": []}}

    assert await a.post("/api/friends/SendFriendRequest", {"user_id": b.id}) == OK
    assert (await a.get("/api/friends/GetFriendList"))["response"]["friends"] == [
        {"user_id": b.id, "display_name": "boris", "pending": True}]
    # received and not answered: not in the receiver's list, but in their requests
    assert (await b.get("/api/friends/GetFriendList"))["response"]["friends"] == []
    assert (await b.get("/api/friends/GetFriendRequests"))["response"] == {"requests": [a.id]}
    assert (await a.get("/api/friends/GetFriendRequests"))["response"] == {"requests": []}
    assert await a.post("/api/friends/SendFriendRequest", {"user_id": b.id}) == err(3, "Friend request already sent")

    # a request sent back is an acceptance
    assert await b.post("/api/friends/SendFriendRequest", {"user_id": str(a.id)}) == OK
    assert (await a.get("/api/friends/GetFriendList"))["response"]["friends"] == [
        {"user_id": b.id, "display_name": "boris", "pending": False}]
    assert (await b.get("/api/friends/GetFriendList"))["response"]["friends"] == [
        {"user_id": a.id, "display_name": "anna", "pending": False}]
    assert (await b.get("/api/friends/GetFriendRequests"))["response"] == {"requests": []}
    assert await a.post("/api/friends/SendFriendRequest", {"user_id": b.id}) == err(3, "Already friends")
    assert await b.post("/api/friends/SendFriendRequest", {"user_id": a.id}) == err(3, "Already friends")

    # C asks A; A cancels nothing of C's but sees the request
    await c.post("/api/friends/SendFriendRequest", {"user_id": a.id})
    assert (await a.get("/api/friends/GetFriendRequests"))["response"] == {"requests": [c.id]}
    assert [f["user_id"] for f in (await a.get("/api/friends/GetFriendList"))["response"]["friends"]] == [b.id]
    # C cancels the request it sent
    assert await c.post("/api/friends/RemoveFriend", {"user_id": a.id}) == OK
    assert (await a.get("/api/friends/GetFriendRequests"))["response"] == {"requests": []}
    assert (await c.get("/api/friends/GetFriendList"))["response"]["friends"] == []

    # either friend removes the friendship, for both
    assert await b.post("/api/friends/RemoveFriend", {"user_id": a.id}) == OK
    assert (await a.get("/api/friends/GetFriendList"))["response"]["friends"] == []
    assert (await b.get("/api/friends/GetFriendList"))["response"]["friends"] == []
    assert await b.post("/api/friends/RemoveFriend", {"user_id": a.id}) == err(1, "User is not in the friend list")

    # errors
    assert await a.post("/api/friends/SendFriendRequest", {"user_id": a.id}) == err(
        1, "Cannot send a friend request to yourself")
    for bad in (999999, "x", None, [1]):
        expected = err(2, "user_id") if bad is None else err(1, "User profile does not exist")
        assert await a.post("/api/friends/SendFriendRequest", {"user_id": bad}) == expected, bad
    assert await a.post("/api/friends/RemoveFriend", {}) == err(2, "user_id")
    r = await http.post(server.url + "/api/friends/SendFriendRequest", json_body={"user_id": b.id})
    assert r.json == err(3, "Login required")
    assert await a.post("/api/friends/GetFriendList") == err(3, "Method not allowed")


# -- events -----------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_events(start_server, http, clock):
    server = await start_server(clock=clock)
    a = await signup(http, server, "creator")
    b = await signup(http, server, "student")
    now = int(clock.seconds())
    start, end = now + 3600, now + 7200

    event_id = await create_event(a, "Матанализ", start, end)
    assert len(event_id) == 36 and event_id.count("-") == 4
    r = await http.get(server.url + "/api/events/GetEventByID", params={"event_id": event_id})
    assert r.json == {"error": 0, "error_msg": "", "response": {
        "name": "Матанализ", "event_id": event_id, "time_from": start, "time_to": end, "creator_id": a.id}}
    for bad in ("none", "00000000-0000-0000-0000-000000000000"):
        r = await http.get(server.url + "/api/events/GetEventByID", params={"event_id": bad})
        assert r.json == err(5, "Event does not exist")

    # create errors
    for body, expected in (
        ({"name": "Матанализ", "time_from": start, "time_to": end}, err(-1, "Could not create new event")),
        ({"name": "x", "time_from": end, "time_to": start}, err(1, "time_from comes after time_to")),
        ({"name": "x", "time_from": now - 1, "time_to": end}, err(1, "time_from has passed")),
        ({"name": "x", "time_from": "soon", "time_to": end}, err(1, "invalid literal for int() with base 10: 'soon'")),
        ({"name": "x", "time_from": True, "time_to": end}, err(1, "invalid literal for int() with base 10: 'True'")),
        ({"name": "x" * 33, "time_from": start, "time_to": end}, err(1, "Name is too long")),
        ({"name": 7, "time_from": start, "time_to": end}, err(1, "name must be a string")),
        ({"name": "x", "time_from": start, "time_to": 10**20}, err(1, "Time is out of range")),
    ):
        assert await a.post("/api/events/CreateEvent", body) == expected, body
    # digit strings are fine, as int() took them upstream
    second = await create_event(b, "Линейная алгебра", str(start + 60), str(end))

    # search
    r = await http.get(server.url + "/api/events/GetEvents")
    assert [e["event_id"] for e in r.json["response"]] == [event_id, second]
    r = await http.get(server.url + "/api/events/GetEvents", params={"name": "мат"})
    assert [e["name"] for e in r.json["response"]] == ["Матанализ"]
    r = await http.get(server.url + "/api/events/GetEvents", params={"name": "АЛГЕБ"})
    assert [e["name"] for e in r.json["response"]] == ["Линейная алгебра"]
    r = await http.get(server.url + "/api/events/GetEvents", params={"name": "ма"})
    assert r.json == err(1, "Name is too short")
    # no content-type check on GetEvents
    r = await http.post(server.url + "/api/events/GetEvents", data=b"x", headers={"Content-Type": "text/plain"})
    assert r.json == err(3, "Method not allowed")

    # created and joined lists (the creator is joined)
    assert (await a.get("/api/events/GetCreatedEvents"))["response"] == [
        {"name": "Матанализ", "event_id": event_id, "time_from": start, "time_to": end}]
    assert (await a.get("/api/events/GetJoinedEvents"))["response"] == [
        {"name": "Матанализ", "creator": True, "event_id": event_id, "time_from": start, "time_to": end}]

    # join / leave
    assert await b.post("/api/events/JoinEvent", {"event_id": event_id}) == OK
    assert await b.post("/api/events/JoinEvent", {"event_id": event_id}) == err(3, "Already joined the event")
    joined = (await b.get("/api/events/GetJoinedEvents"))["response"]
    assert [(e["event_id"], e["creator"]) for e in joined] == [(event_id, False), (second, True)]
    assert await b.post("/api/events/LeaveEvent", {"event_id": event_id}) == OK
    assert await b.post("/api/events/LeaveEvent", {"event_id": event_id}) == err(3, "You are not in the event")
    assert await b.post("/api/events/JoinEvent", {"event_id": event_id}) == OK
    # the creator may leave; created list keeps it
    assert await a.post("/api/events/LeaveEvent", {"event_id": event_id}) == OK
    assert (await a.get("/api/events/GetJoinedEvents"))["response"] == []
    assert len((await a.get("/api/events/GetCreatedEvents"))["response"]) == 1

    # unknown events answer 1 for join / leave / delete
    for path in ("JoinEvent", "LeaveEvent", "DeleteEvent"):
        for bad in ("none", "00000000-0000-0000-0000-000000000000", 5):
            assert await b.post(f"/api/events/{path}", {"event_id": bad}) == err(1, "Event does not exist")
        assert await b.post(f"/api/events/{path}", {}) == err(2, "event_id")

    # only the creator deletes
    assert await b.post("/api/events/DeleteEvent", {"event_id": event_id}) == err(
        3, "Only the creator can delete the event")

    # once it began: no joining, no deleting; leaving until it is over
    c = await signup(http, server, "late")
    clock.advance(3601)
    assert await c.post("/api/events/JoinEvent", {"event_id": event_id}) == err(3, "Event already began")
    assert await a.post("/api/events/DeleteEvent", {"event_id": event_id}) == err(3, "Event has already started")
    assert await a.post("/api/events/CreateEvent", {"name": "past", "time_from": start, "time_to": end}) == err(
        1, "time_from has passed")
    clock.advance(3600)
    assert await b.post("/api/events/LeaveEvent", {"event_id": event_id}) == err(3, "Event already over")
    assert await b.post("/api/events/DeleteEvent", {"event_id": second}) == err(3, "Event has already started")


@pytest_twisted.ensureDeferred
async def test_delete_event_frees_its_name(start_server, http, clock):
    server = await start_server(clock=clock)
    a = await signup(http, server, "creator")
    now = int(clock.seconds())
    event_id = await create_event(a, "Физра", now + 10, now + 20)
    assert await a.post("/api/events/DeleteEvent", {"event_id": event_id}) == OK
    assert (await a.get("/api/events/GetEvents"))["response"] == []
    assert (await a.get("/api/events/GetJoinedEvents"))["response"] == []
    r = await http.get(server.url + "/api/events/GetEventByID", params={"event_id": event_id})
    assert r.json == err(5, "Event does not exist")
    again = await create_event(a, "Физра", now + 10, now + 20)
    assert again != event_id


@pytest_twisted.ensureDeferred
async def test_session_lasts_two_weeks(start_server, http, clock):
    server = await start_server(clock=clock)
    a = await signup(http, server, "sleepy")
    clock.advance(14 * 24 * 3600 - 10)
    assert (await a.get("/api/auth/GetCurrentUserId"))["response"] == {"user_id": a.id}
    clock.advance(11)
    assert (await a.get("/api/auth/GetCurrentUserId"))["response"] == {"user_id": None}
    assert await a.get("/api/friends/GetFriendList") == err(3, "Login required")


@pytest_twisted.ensureDeferred
async def test_events_do_not_collide_with_other_kinds(server, http):
    """Names are unique among campus events only; other doors' meetings may share a title."""
    from sqlalchemy import insert

    from meetsrv.store.tables import meetings

    a = await signup(http, server, "x1")
    now = server.services.clock.seconds()
    await server.services.db.execute("test.insert", insert(meetings).values(kind="social", title="Кино", created=now, modified=now))
    await create_event(a, "Кино", int(now) + 100, int(now) + 200)
    r = await http.get(server.url + "/api/events/GetEvents")
    assert [e["name"] for e in r.json["response"]] == ["Кино"]


@pytest_twisted.ensureDeferred
async def test_simultaneous_requests(server, http):
    """Races: one name, one join, and two crossing friend requests make one friendship."""
    from twisted.internet import defer

    a = await signup(http, server, "racer1")
    b = await signup(http, server, "racer2")
    now = int(server.services.clock.seconds())
    body = {"name": "Гонка", "time_from": now + 100, "time_to": now + 200}
    answers = await defer.gatherResults([
        defer.ensureDeferred(a.post("/api/events/CreateEvent", body)),
        defer.ensureDeferred(b.post("/api/events/CreateEvent", body)),
    ])
    codes = sorted(x["error"] for x in answers)
    assert codes == [-1, 0], answers
    event_id = next(x["response"]["event_id"] for x in answers if x["error"] == 0)
    joiner = b if answers[0]["error"] == 0 else a  # the one who did not create it
    answers = await defer.gatherResults([
        defer.ensureDeferred(joiner.post("/api/events/JoinEvent", {"event_id": event_id})) for _ in range(3)
    ])
    assert sorted(x["error"] for x in answers) == [0, 3, 3], answers
    assert all(x == err(3, "Already joined the event") for x in answers if x["error"])

    answers = await defer.gatherResults([
        defer.ensureDeferred(a.post("/api/friends/SendFriendRequest", {"user_id": b.id})),
        defer.ensureDeferred(b.post("/api/friends/SendFriendRequest", {"user_id": a.id})),
    ])
    assert answers == [OK, OK]
    assert (await a.get("/api/friends/GetFriendList"))["response"]["friends"] == [
        {"user_id": b.id, "display_name": "racer2", "pending": False}]
    assert (await b.get("/api/friends/GetFriendList"))["response"]["friends"] == [
        {"user_id": a.id, "display_name": "racer1", "pending": False}]
    assert (await a.get("/api/friends/GetFriendRequests"))["response"] == {"requests": []}

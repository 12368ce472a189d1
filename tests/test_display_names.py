"""Display names through every door that sets one: the one core rule at each door's own limit,
refused in the door's own style with nothing changed."""

from __future__ import annotations

import io

import pytest_twisted

from tests.clients.base import http  # noqa: F401  (no shared cookie jar)
from tests.clients.campus import signup
from tests.clients.images import png
from tests.clients.phone import PHONES, send_code
from tests.clients.phone import auth as phone_auth
from tests.clients.phone import sign_up as phone_sign_up


@pytest_twisted.ensureDeferred
async def test_social_first_name_at_most_30(server, http):
    body = {"social_slug": "vk", "external_id": 7, "token": "tok7", "first_name": "Ilia"}
    r = await http.post(server.url + "/api-token-auth/", json_body=body)
    headers = {"Authorization": f"Token {r.json['token']}"}
    r = await http.put(server.url + "/user-detail/", headers=headers, json_body={"first_name": "ж" * 31, "about": "x"})
    assert (r.code, r.json) == (400, {"first_name": ["Ensure this field has no more than 30 characters."]})
    r = await http.get(server.url + "/user-detail/", headers=headers)
    assert (r.json["first_name"], r.json["about"]) == ("Ilia", "")
    r = await http.put(server.url + "/user-detail/", headers=headers, json_body={"first_name": "ж" * 30})
    assert r.code == 200 and r.json["first_name"] == "ж" * 30
    # blank is allowed on this door (its column allowed it)
    r = await http.put(server.url + "/user-detail/", headers=headers, json_body={"first_name": ""})
    assert r.code == 200 and r.json["first_name"] == ""


@pytest_twisted.ensureDeferred
async def test_campus_display_name_at_most_128(server, http):
    u = await signup(http, server, "masha")
    r = await u.post("/api/profile/UpdateProfileInfo", {"display_name": "ж" * 129, "bio": "x"})
    assert r == {"error": 1, "error_msg": "display_name is too long"}
    p = await u.get("/api/profile/GetProfile", params={"user_id": u.id})
    assert (p["response"]["display_name"], p["response"]["bio"]) == ("masha", "")
    assert await u.post("/api/profile/UpdateProfileInfo", {"display_name": "ж" * 128}) == {"error": 0, "error_msg": ""}
    p = await u.get("/api/profile/GetProfile", params={"user_id": u.id})
    assert p["response"]["display_name"] == "ж" * 128


@pytest_twisted.ensureDeferred
async def test_phone_name_at_most_255(server, http):
    too_long = {"name": ["Ensure this field has no more than 255 characters."]}
    code = await send_code(http, server, PHONES[0])
    r = await http.post(server.url + "/api/auth/users/",
                        data={"phone": PHONES[0], "code": code, "is_new": "true", "name": "ж" * 256},
                        files={"avatar": ("a.png", "image/png", io.BytesIO(png(4, 4)))})
    assert (r.code, r.json) == (400, too_long)
    _, token = await phone_sign_up(http, server, PHONES[0], name="ж" * 255)
    r = await http.patch(server.url + "/api/account/", headers=phone_auth(token), json_body={"name": "x" * 256})
    assert (r.code, r.json) == (400, too_long)
    r = await http.get(server.url + "/api/account/", headers=phone_auth(token))
    assert r.json["name"] == "ж" * 255

"""Idempotency-Key on the create routes of every door: the same key from the same user gets the
first answer again and nothing is created twice; another request with the key is refused (422)
in the door's style; a key lives 24 hours."""

from __future__ import annotations

import pytest_twisted

from tests.clients.campus import signup
from tests.clients.directory import auth as bearer
from tests.clients.directory import member, sign_in
from tests.clients.images import multipart, png
from tests.clients.phone import PHONES
from tests.clients.phone import auth as token_auth
from tests.clients.phone import sign_up as phone_sign_up
from tests.clients.social import login as social_login


def key(value: str, headers: dict) -> dict:
    return {**headers, "Idempotency-Key": value}


async def _rooms_users(http, server):
    a = (await http.post(server.url + "/v1/register", json_body={"login": "ann", "password": "pw"})).json["session_id"]
    b = (await http.post(server.url + "/v1/register", json_body={"login": "ben", "password": "pw"})).json["session_id"]
    c = (await http.post(server.url + "/v1/register", json_body={"login": "cid", "password": "pw"})).json["session_id"]
    infos = [(await http.get(server.url + "/v1/info", headers={"X-Session-Id": s})).json for s in (b, c)]
    return a, b, infos


@pytest_twisted.ensureDeferred
async def test_rooms_a_retried_create_gets_the_first_answer(server, http):
    a, b, (ben, cid) = await _rooms_users(http, server)
    headers = key("k-1", {"X-Session-Id": a})
    first = await http.post(server.url + "/v1/rooms", json_body={"users": [ben]}, headers=headers)
    assert first.code == 200 and first.header("idempotent-replayed") is None
    again = await http.post(server.url + "/v1/rooms", json_body={"users": [ben]}, headers=headers)
    assert (again.code, again.body) == (first.code, first.body)
    assert again.header("content-type") == first.header("content-type")
    assert again.header("idempotent-replayed") == "true"
    # the key with another request: refused in the rooms door's style, nothing created
    other = await http.post(server.url + "/v1/rooms", json_body={"users": [cid]}, headers=headers)
    assert (other.code, other.json) == (422, {"error": {"code": "idempotency_key_reused"}})
    rooms = (await http.get(server.url + "/v1/rooms", headers={"X-Session-Id": a})).json
    assert len(rooms) == 1
    # keys are the user's own: ben's "k-1" is another key
    mine = await http.post(server.url + "/v1/rooms", json_body={"users": [cid]}, headers=key("k-1", {"X-Session-Id": b}))
    assert mine.code == 200 and mine.header("idempotent-replayed") is None
    # a bad key, and no credential (checked as the route would)
    r = await http.post(server.url + "/v1/rooms", json_body={"users": [ben]}, headers=key("x" * 256, {"X-Session-Id": a}))
    assert (r.code, r.json) == (400, {"error": {"code": "invalid_idempotency_key"}})
    r = await http.post(server.url + "/v1/rooms", json_body={"users": [ben]}, headers={"Idempotency-Key": "k-1"})
    assert r.code == 401


@pytest_twisted.ensureDeferred
async def test_directory_an_event_created_twice_is_saved_once(start_server, http, clock):
    server = await start_server(clock=clock)
    _, access = await member(http, server, "dora@example.com")
    body = {"title": "Субботник", "description": "уборка", "date": "2030-05-01"}
    headers = key("evt-1", bearer(access))
    first = await http.post(server.url + "/api/events/create/", json_body=body, headers=headers)
    assert first.code == 202, first
    again = await http.post(server.url + "/api/events/create/", json_body=body, headers=headers)
    assert (again.code, again.json) == (202, first.json)
    r = await http.post(server.url + "/api/events/create/", json_body={**body, "title": "Другое"}, headers=headers)
    assert (r.code, r.json) == (422, {"detail": "This Idempotency-Key was used with another request."})
    # with an image (multipart, the same bytes sent again)
    data, ctype = multipart({"title": "С картинкой"}, {"image": ("e.png", "image/png", png(64, 48, (255, 0, 255)))})
    h = key("evt-2", {**bearer(access), "Content-Type": ctype})
    with_image = await http.post(server.url + "/api/events/create/", data=data, headers=h)
    assert with_image.code == 202, with_image
    assert (await http.post(server.url + "/api/events/create/", data=data, headers=h)).json == with_image.json
    # one pending event each, saved once
    clock.advance(61)
    await server.services.event_jobs.idle()
    r = await http.get(server.url + "/api/events/", headers=bearer(access))
    assert sorted(e["title"] for e in r.json["results"]) == sorted(["Субботник", "С картинкой"])

    # an organization
    org = {"title": "Библиотека"}
    h = key("org-1", bearer(access))
    first = await http.post(server.url + "/api/organizations/create/", json_body=org, headers=h)
    again = await http.post(server.url + "/api/organizations/create/", json_body=org, headers=h)
    assert first.code == again.code == 201 and first.json == again.json
    assert (await http.get(server.url + "/api/organizations/", headers=bearer(access))).json["count"] == 1


@pytest_twisted.ensureDeferred
async def test_social_phone_and_campus_creates_are_made_once(start_server, http, clock):
    server = await start_server(clock=clock)
    # social: a meeting
    token, _ = await social_login(http, server, 1)
    body = {"title": "title", "description": "desc", "coordinates": {"lat": 55.75, "lng": 37.61}}
    h = key("m-1", {"Authorization": f"Token {token}"})
    first = await http.post(server.url + "/meetings-list/", json_body=body, headers=h)
    again = await http.post(server.url + "/meetings-list/", json_body=body, headers=h)
    assert first.code == again.code == 201 and first.json == again.json
    listed = (await http.get(server.url + "/meetings-list/", headers={"Authorization": f"Token {token}"})).json
    assert [m["id"] for m in listed] == [first.json["id"]]
    r = await http.post(server.url + "/meetings-list/", json_body={**body, "title": "other"}, headers=h)
    assert (r.code, r.json) == (422, {"detail": "This Idempotency-Key was used with another request."})

    # phone: a meeting with its logo (multipart)
    _, phone_token = await phone_sign_up(http, server, PHONES[0])
    data, ctype = multipart({"title": "fff"}, {"logo": ("l.png", "image/png", png(64, 48, (255, 0, 255)))})
    h = key("p-1", {**token_auth(phone_token), "Content-Type": ctype})
    first = await http.post(server.url + "/api/meetings/", data=data, headers=h)
    again = await http.post(server.url + "/api/meetings/", data=data, headers=h)
    assert first.code == again.code == 201 and first.json == again.json
    listed = (await http.get(server.url + "/api/meetings/", headers=token_auth(phone_token))).json
    assert [m["id"] for m in listed] == [first.json["id"]]

    # campus: an event; a reused key answered in the envelope
    creator = await signup(http, server, "creator")
    now = int(clock.seconds())
    event = {"name": "Матанализ", "time_from": now + 60, "time_to": now + 3600}
    first = await creator.post("/api/events/CreateEvent", event, headers={"Idempotency-Key": "c-1"})
    again = await creator.post("/api/events/CreateEvent", event, headers={"Idempotency-Key": "c-1"})
    assert first["error"] == 0 and again == first
    other = await creator.post("/api/events/CreateEvent", {**event, "name": "Физика"}, headers={"Idempotency-Key": "c-1"})
    assert other == {"error": 1, "error_msg": "This Idempotency-Key was used with another request."}
    joined = (await creator.get("/api/events/GetEvents", params={"name": "Матанализ"}))["response"]
    assert len(joined) == 1


@pytest_twisted.ensureDeferred
async def test_keys_expire_after_a_day_and_failed_requests_keep_none(start_server, http, clock):
    server = await start_server(clock=clock)
    _, access = await member(http, server, "dora@example.com")
    h = key("org", bearer(access))
    # a refused request keeps no answer: the key may be used again
    r = await http.post(server.url + "/api/organizations/create/", json_body={"title": ""}, headers=h)
    assert r.code == 400
    first = await http.post(server.url + "/api/organizations/create/", json_body={"title": "A"}, headers=h)
    assert first.code == 201
    clock.advance(24 * 3600 - 1)
    h = key("org", bearer((await sign_in(http, server, "dora@example.com"))["access"]))  # a fresh token
    assert (await http.post(server.url + "/api/organizations/create/", json_body={"title": "A"}, headers=h)).json == first.json
    clock.advance(2)
    second = await http.post(server.url + "/api/organizations/create/", json_body={"title": "A"}, headers=h)
    assert second.code == 201 and second.json["id"] != first.json["id"]


@pytest_twisted.ensureDeferred
async def test_a_key_in_use_answers_409_until_its_claim_is_stale(start_server, http, clock):
    server = await start_server(clock=clock)
    user, access = await member(http, server, "dora@example.com")
    body = b'{"title": "A"}'
    import hashlib

    # a request with this key is being answered (by a process that then died)
    fingerprint = hashlib.sha256(b"POST /api/organizations/create/\n" + body).hexdigest()
    claim = await server.services.idempotency.claim(user["id"], "busy", "POST /api/organizations/create/", fingerprint)
    assert claim.state == "new"
    h = key("busy", {**bearer(access), "Content-Type": "application/json"})
    r = await http.post(server.url + "/api/organizations/create/", data=body, headers=h)
    assert (r.code, r.json) == (409, {"detail": "A request with this Idempotency-Key is still being answered."})
    clock.advance(61)
    r = await http.post(server.url + "/api/organizations/create/", data=body, headers=h)
    assert r.code == 201, r

"""The directory door (seed 003) through a real port: accounts, JWT, organizations, events."""

from __future__ import annotations

import jwt
import pytest
import pytest_twisted

from tests.clients.directory import PASSWORD, auth, create_event, member, saved_after_delay, sign_in, sign_up
from tests.clients.images import multipart, png

PROTECTED = [
    ("GET", "/api/organizations/"),
    ("GET", "/api/organizations/1"),
    ("POST", "/api/organizations/create/"),
    ("GET", "/api/events/"),
    ("GET", "/api/events/1/"),
    ("POST", "/api/events/create/"),
    ("GET", "/api/chat/messages/"),
]


@pytest_twisted.ensureDeferred
async def test_sign_up_sign_in_refresh_rotation(server, http):
    r = await http.post(server.url + "/api/user/sign-up/",
                        json_body={"email": "Anna@Example.COM", "password": PASSWORD, "telephone": "+79991234567"})
    assert r.code == 201
    assert r.json == {"id": r.json["id"], "email": "Anna@example.com", "telephone": "+79991234567"}
    assert "password" not in r.body.decode()

    pair = await sign_in(http, server, "Anna@example.com")
    assert set(pair) == {"access", "refresh"}
    claims = jwt.decode(pair["access"], options={"verify_signature": False})
    assert jwt.get_unverified_header(pair["access"])["alg"] == "HS256"
    assert claims["user_id"] == r.json["id"] and claims["token_type"] == "access"

    # Bearer and a bare token both work
    for headers in (auth(pair["access"]), auth(pair["access"], scheme="")):
        got = await http.get(server.url + "/api/organizations/", headers=headers)
        assert got.code == 200, got

    r = await http.post(server.url + "/api/user/refresh/", json_body={"refresh": pair["refresh"]})
    assert r.code == 200 and set(r.json) == {"access", "refresh"}
    second = r.json
    assert second["refresh"] != pair["refresh"]
    # the old refresh token is spent
    r = await http.post(server.url + "/api/user/refresh/", json_body={"refresh": pair["refresh"]})
    assert r.code == 401 and r.json["code"] == "token_not_valid"
    # the new one works once
    r = await http.post(server.url + "/api/user/refresh/", json_body={"refresh": second["refresh"]})
    assert r.code == 200
    # an access token is not a refresh token
    r = await http.post(server.url + "/api/user/refresh/", json_body={"refresh": second["access"]})
    assert r.code == 401


@pytest_twisted.ensureDeferred
async def test_account_errors(server, http):
    url = server.url
    await sign_up(http, server, "bob@example.com")
    r = await http.post(url + "/api/user/sign-up/", json_body={"email": "bob@example.com", "password": "x"})
    assert (r.code, r.json) == (400, {"email": ["user with this email already exists."]})
    r = await http.post(url + "/api/user/sign-up/", json_body={"email": "not-an-email", "password": "x"})
    assert r.code == 400 and list(r.json) == ["email"]
    r = await http.post(url + "/api/user/sign-up/", json_body={"email": "c@example.com"})
    assert (r.code, r.json) == (400, {"password": ["This field is required."]})
    r = await http.post(url + "/api/user/sign-up/", json_body={})
    assert r.code == 400 and set(r.json) == {"email", "password"}
    await sign_up(http, server, "d@example.com", telephone="+100")
    r = await http.post(url + "/api/user/sign-up/", json_body={"email": "e@example.com", "password": "x", "telephone": "+100"})
    assert r.code == 400 and list(r.json) == ["telephone"]
    for body in (b"{not json", b"[1, 2]"):
        r = await http.post(url + "/api/user/sign-up/", data=body, headers={"Content-Type": "application/json"})
        assert r.code == 400, body
    r = await http.post(url + "/api/user/sign-up/", data=b"x", headers={"Content-Type": "text/plain"})
    assert r.code == 415

    r = await http.post(url + "/api/user/sign-in/", json_body={"email": "bob@example.com", "password": "wrong"})
    assert (r.code, r.json) == (401, {"detail": "No active account found with the given credentials"})
    r = await http.post(url + "/api/user/sign-in/", json_body={"email": "nobody@example.com", "password": "x"})
    assert r.code == 401
    r = await http.post(url + "/api/user/sign-in/", json_body={"email": "bob@example.com"})
    assert (r.code, r.json) == (400, {"password": ["This field is required."]})
    # form bodies are read too
    r = await http.post(url + "/api/user/sign-in/", data=f"email=bob%40example.com&password={PASSWORD}".encode(),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.code == 200
    r = await http.post(url + "/api/user/refresh/", json_body={})
    assert (r.code, r.json) == (400, {"refresh": ["This field is required."]})
    r = await http.post(url + "/api/user/refresh/", json_body={"refresh": "garbage"})
    assert r.code == 401


@pytest.mark.parametrize("method,path", PROTECTED)
@pytest_twisted.ensureDeferred
async def test_everything_needs_a_valid_token(server, http, method, path):
    r = await http.request(method, server.url + path, json_body={} if method == "POST" else None)
    assert (r.code, r.json) == (401, {"detail": "Authentication credentials were not provided."})
    user, token = await member(http, server, "x@example.com")
    forged = jwt.encode({"token_type": "access", "user_id": user["id"], "exp": 2**40}, "another-secret-of-32-bytes-or-more", algorithm="HS256")
    unsigned = jwt.encode({"token_type": "access", "user_id": user["id"], "exp": 2**40}, None, algorithm="none")
    for bad in ("garbage", forged, unsigned):
        r = await http.request(method, server.url + path, json_body={} if method == "POST" else None,
                               headers=auth(bad))
        assert r.code == 401 and r.json["code"] == "token_not_valid", bad


@pytest_twisted.ensureDeferred
async def test_token_expiry_follows_the_injected_clock(start_server, http, clock):
    server = await start_server(clock=clock)
    await sign_up(http, server, "t@example.com")
    pair = await sign_in(http, server, "t@example.com")
    r = await http.get(server.url + "/api/events/", headers=auth(pair["access"]))
    assert r.code == 200
    clock.advance(299)
    assert (await http.get(server.url + "/api/events/", headers=auth(pair["access"]))).code == 200
    clock.advance(2)
    r = await http.get(server.url + "/api/events/", headers=auth(pair["access"]))
    assert r.code == 401 and r.json["code"] == "token_not_valid"
    # the refresh token still lives: it gives a new pair
    r = await http.post(server.url + "/api/user/refresh/", json_body={"refresh": pair["refresh"]})
    assert r.code == 200
    fresh = r.json
    assert (await http.get(server.url + "/api/events/", headers=auth(fresh["access"]))).code == 200
    # a day later the refresh token has expired too
    clock.advance(24 * 3600 + 1)
    r = await http.post(server.url + "/api/user/refresh/", json_body={"refresh": fresh["refresh"]})
    assert r.code == 401


@pytest_twisted.ensureDeferred
async def test_organizations(server, http):
    ann, token = await member(http, server, "ann@example.com")
    bob, _ = await member(http, server, "bob@example.com")
    url = server.url
    r = await http.post(url + "/api/organizations/create/", headers=auth(token), json_body={
        "title": "Библиотека", "description": "книги", "postcode": "101000", "address": "Москва, ул. Мира 1",
        "users": [{"id": ann["id"]}, {"id": bob["id"]}],
    })
    assert r.code == 201, r
    org = r.json
    assert org["id"] > 0 and org["title"] == "Библиотека"
    assert org["all_address"] == "101000 Москва, ул. Мира 1"
    assert org["users"] == [
        {"id": ann["id"], "email": "ann@example.com", "telephone": None},
        {"id": bob["id"], "email": "bob@example.com", "telephone": None},
    ]
    r = await http.post(url + "/api/organizations/create/", headers=auth(token), json_body={"title": "Alpha"})
    assert r.code == 201 and r.json["users"] == [] and r.json["all_address"] == ""

    r = await http.get(url + f"/api/organizations/{org['id']}", headers=auth(token))
    assert (r.code, r.json) == (200, org)
    r = await http.get(url + f"/api/organizations/{org['id']}/", headers=auth(token))
    assert r.code == 200
    r = await http.get(url + "/api/organizations/", headers=auth(token))
    assert r.code == 200
    assert r.json["count"] == 2 and r.json["next"] is None and r.json["previous"] is None
    assert [o["title"] for o in r.json["results"]] == ["Alpha", "Библиотека"]
    r = await http.get(url + "/api/organizations/?limit=1&offset=1", headers=auth(token))
    assert [o["title"] for o in r.json["results"]] == ["Библиотека"]
    assert r.json["next"] is None and r.json["previous"].endswith("/api/organizations/?limit=1")

    for oid in (999999, "abc", "1e3", 2**40):
        r = await http.get(url + f"/api/organizations/{oid}/", headers=auth(token))
        assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_organization_errors_change_nothing(server, http):
    ann, token = await member(http, server, "ann@example.com")
    url = server.url + "/api/organizations/create/"
    cases = [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 300}, "title"),
        ({"title": "T", "users": [{"id": 424242}]}, "users"),
        ({"title": "T", "users": "nope"}, "users"),
        ({"title": "T", "users": [{"name": "x"}]}, "users"),
        ({"title": "T", "postcode": "1" * 40}, "postcode"),
    ]
    for body, field in cases:
        r = await http.post(url, json_body=body, headers=auth(token))
        assert r.code == 400 and field in r.json, (body, r)
    r = await http.get(server.url + "/api/organizations/", headers=auth(token))
    assert r.json["count"] == 0
    r = await http.get(url, headers=auth(token))
    assert r.code == 405


@pytest_twisted.ensureDeferred
async def test_event_is_saved_after_the_delay(start_server, http, clock):
    server = await start_server(clock=clock)
    ann, token = await member(http, server, "ann@example.com")
    r = await create_event(http, server, token, {"title": "Лекция", "date": "2031-02-20"})
    assert r.json["id"] > 0 and r.json["status"] == "pending"
    pending = r.json
    status_path = f"/api/events/pending/{pending['id']}/"
    assert pending["status_url"] == server.services.base_url + status_path
    r = await http.get(server.url + status_path, headers=auth(token))
    assert r.json == {"id": pending["id"], "status": "pending", "event": None, "save_at": pending["save_at"]}
    # only its creator sees a pending event
    _, other = await member(http, server, "other@example.com")
    assert (await http.get(server.url + status_path, headers=auth(other))).code == 404
    assert (await http.get(server.url + "/api/events/pending/999/", headers=auth(token))).code == 404
    r = await http.get(server.url + "/api/events/", headers=auth(token))
    assert r.json["count"] == 0
    clock.advance(59)
    await server.services.event_jobs.idle()
    assert (await http.get(server.url + "/api/events/", headers=auth(token))).json["count"] == 0
    await saved_after_delay(server, clock, 1)
    r = await http.get(server.url + "/api/events/", headers=auth(token))
    assert r.json["count"] == 1
    event = r.json["results"][0]
    assert event["title"] == "Лекция" and event["date"] == "2031-02-20" and event["image"] is None
    r = await http.get(server.url + status_path, headers=auth(token))
    assert r.json["status"] == "saved" and r.json["event"] == event["id"]
    # saved once only
    clock.advance(600)
    await server.services.event_jobs.idle()
    token = (await sign_in(http, server, "ann@example.com"))["access"]
    assert (await http.get(server.url + "/api/events/", headers=auth(token))).json["count"] == 1


@pytest_twisted.ensureDeferred
async def test_event_delay_setting(start_server, http, clock):
    server = await start_server(clock=clock, event_delay=5)
    _, token = await member(http, server, "ann@example.com")
    await create_event(http, server, token, {"title": "Soon"})
    await saved_after_delay(server, clock, 5)
    assert (await http.get(server.url + "/api/events/", headers=auth(token))).json["count"] == 1


@pytest_twisted.ensureDeferred
async def test_invalid_events_are_refused_at_once(start_server, http, clock):
    server = await start_server(clock=clock)
    _, token = await member(http, server, "ann@example.com")
    cases = [
        ({"description": "no title"}, "title"),
        ({"title": ""}, "title"),
        ({"title": "T", "date": "20-02-2031"}, "date"),
        ({"title": "T", "date": "2031-02-30"}, "date"),
        ({"title": "T", "date": 12}, "date"),
        ({"title": "T", "date": "0001-01-01T00:00:00+05:00"}, "date"),
        ({"title": "T", "organizations": [{"id": 31337}]}, "organizations"),
        ({"title": "T", "organizations": [{"title": "x"}]}, "organizations"),
        ({"title": "T", "image": "http://example.com/x.png"}, "image"),
    ]
    for body, field in cases:
        r = await http.post(server.url + "/api/events/create/", json_body=body, headers=auth(token))
        assert r.code == 400 and field in r.json, (body, r)
    # a file that is not an image
    data, ctype = multipart({"title": "T"}, {"image": ("x.png", "image/png", b"not an image at all")})
    r = await http.post(server.url + "/api/events/create/", data=data, headers={**auth(token), "Content-Type": ctype})
    assert (r.code, list(r.json)) == (400, ["image"])
    await saved_after_delay(server, clock, 120)
    assert (await http.get(server.url + "/api/events/", headers=auth(token))).json["count"] == 0
    assert server.services.event_jobs.armed() == []


@pytest_twisted.ensureDeferred
async def test_event_dates_at_the_edges_are_answered_with_four_digit_years(start_server, http, clock):
    """As DRF renders them (ISO 8601): year 1 is `0001`, never `1`, which no client parses."""
    server = await start_server(clock=clock)
    _, token = await member(http, server, "ann@example.com")
    for date in ("0001-01-01T00:00:00Z", "0999-07-05T10:20:30.5+00:00", "9999-12-31T23:59:59Z"):
        await create_event(http, server, token, {"title": date, "date": date})
    await saved_after_delay(server, clock)
    r = await http.get(server.url + "/api/events/?ordering=date", headers=auth(token))
    assert [e["date"] for e in r.json["results"]] == [
        "0001-01-01T00:00:00Z", "0999-07-05T10:20:30.500000Z", "9999-12-31T23:59:59Z"]


@pytest_twisted.ensureDeferred
async def test_event_list_search_ordering_filters_pagination(start_server, http, clock):
    server = await start_server(clock=clock)
    _, token = await member(http, server, "ann@example.com")
    days = ["2031-03-01", "2031-01-15", "2031-02-20T18:30:00+03:00", "2031-02-20", None]
    titles = ["Python meetup", "Jazz evening", "Twisted night", "PYTHON lecture", "Undated"]
    for title, day in zip(titles, days):
        body = {"title": title}
        if day:
            body["date"] = day
        await create_event(http, server, token, body)
    await saved_after_delay(server, clock)
    get = lambda q: http.get(server.url + "/api/events/" + q, headers=auth(token))  # noqa: E731

    r = await get("?ordering=date")
    assert [e["title"] for e in r.json["results"]] == [
        "Jazz evening", "PYTHON lecture", "Twisted night", "Python meetup", "Undated"]
    assert r.json["results"][2]["date"] == "2031-02-20T15:30:00Z"
    r = await get("?ordering=-date")
    assert [e["title"] for e in r.json["results"]] == [
        "Python meetup", "Twisted night", "PYTHON lecture", "Jazz evening", "Undated"]
    r = await get("?search=python&ordering=date")
    assert [e["title"] for e in r.json["results"]] == ["PYTHON lecture", "Python meetup"]
    r = await get("?date=2031-02-20")
    assert sorted(e["title"] for e in r.json["results"]) == ["PYTHON lecture", "Twisted night"]
    r = await get("?date__gte=2031-02-20&ordering=date")
    assert [e["title"] for e in r.json["results"]] == ["PYTHON lecture", "Twisted night", "Python meetup"]
    r = await get("?date__lte=2031-02-20T23:59:00&ordering=-date")
    assert [e["title"] for e in r.json["results"]] == ["Twisted night", "PYTHON lecture", "Jazz evening"]
    r = await get("?date__gte=2031-02-01&date__lte=2031-02-28")
    assert r.json["count"] == 2
    r = await get("?date=yesterday")
    assert (r.code, list(r.json)) == (400, ["date"])

    r = await get("?ordering=date&limit=2")
    page = r.json
    assert page["count"] == 5 and len(page["results"]) == 2 and page["previous"] is None
    assert page["next"].startswith(server.services.base_url + "/api/events/?")
    assert "limit=2" in page["next"] and "offset=2" in page["next"] and "ordering=date" in page["next"]
    r = await http.get(page["next"].replace(server.services.base_url, server.url), headers=auth(token))
    assert [e["title"] for e in r.json["results"]] == ["Twisted night", "Python meetup"]
    assert "offset" not in r.json["previous"]
    r = await get("?ordering=date&limit=2&offset=4")
    assert r.json["next"] is None and [e["title"] for e in r.json["results"]] == ["Undated"]
    # bad or huge limits fall back to the default / the maximum
    for q in ("?limit=abc", "?limit=0", "?limit=-3", "?limit=1000", "?offset=zz"):
        r = await get(q)
        assert r.code == 200 and r.json["count"] == 5 and len(r.json["results"]) == 5, q


@pytest_twisted.ensureDeferred
async def test_limit_is_at_most_100(start_server, http, clock):
    server = await start_server(clock=clock)
    _, token = await member(http, server, "ann@example.com")
    for i in range(105):
        await http.post(server.url + "/api/events/create/", json_body={"title": f"E{i}"}, headers=auth(token))
    await saved_after_delay(server, clock)
    r = await http.get(server.url + "/api/events/", headers=auth(token))
    assert r.json["count"] == 105 and len(r.json["results"]) == 20
    r = await http.get(server.url + "/api/events/?limit=500", headers=auth(token))
    assert len(r.json["results"]) == 100 and "limit=100" in r.json["next"]


@pytest_twisted.ensureDeferred
async def test_event_detail_with_organizations_members_and_image(start_server, http, clock):
    server = await start_server(clock=clock)
    ann, token = await member(http, server, "ann@example.com")
    bob, _ = await member(http, server, "bob@example.com", )
    r = await http.post(server.url + "/api/organizations/create/", headers=auth(token), json_body={
        "title": "Club", "postcode": "190000", "address": "СПб, Невский 1", "users": [{"id": ann["id"]}, {"id": bob["id"]}]})
    club = r.json
    r = await http.post(server.url + "/api/organizations/create/", headers=auth(token), json_body={
        "title": "Bar", "address": "Somewhere", "users": [{"id": bob["id"]}]})
    bar = r.json
    image = png(64, 48, (255, 0, 255))
    await create_event(http, server, token, {"title": "Concert", "date": "2031-05-05",
                                             "organizations": [{"id": club["id"]}, {"id": bar["id"]}]}, image=image)
    await saved_after_delay(server, clock)
    r = await http.get(server.url + "/api/events/", headers=auth(token))
    listed = r.json["results"][0]
    assert sorted(o["id"] for o in listed["organizations"]) == sorted([club["id"], bar["id"]])
    assert listed["image"].startswith(server.services.base_url + "/media/")

    r = await http.get(server.url + f"/api/events/{listed['id']}/", headers=auth(token))
    assert r.code == 200
    detail = r.json
    assert detail["title"] == "Concert" and detail["image"] == listed["image"]
    orgs = {o["id"]: o for o in detail["organizations"]}
    assert orgs[club["id"]]["all_address"] == "190000 СПб, Невский 1"
    assert orgs[bar["id"]]["all_address"] == "Somewhere"
    assert [u["email"] for u in orgs[club["id"]]["users"]] == ["ann@example.com", "bob@example.com"]
    assert [u["email"] for u in orgs[bar["id"]]["users"]] == ["bob@example.com"]
    # the image is served
    r = await http.get(detail["image"].replace(server.services.base_url, server.url))
    assert r.code == 200 and r.body == image
    for eid in (999999, "x"):
        r = await http.get(server.url + f"/api/events/{eid}", headers=auth(token))
        assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_pending_event_survives_a_restart(start_server, http, clock):
    from twisted.internet import task

    first = await start_server(clock=clock)
    _, token = await member(http, first, "ann@example.com")
    await create_event(http, first, token, {"title": "Overdue"})
    clock.advance(30)
    await create_event(http, first, token, {"title": "On time"})
    await first.stop()

    # the next process starts after the first event's time: it is saved at once
    later = task.Clock()
    later.advance(clock.seconds() + 31)
    second = await start_server(clock=later)
    r = await http.get(second.url + "/api/events/", headers=auth(token))
    assert [e["title"] for e in r.json["results"]] == ["Overdue"]
    # the other is saved on time
    later.advance(28)
    await second.services.event_jobs.idle()
    assert (await http.get(second.url + "/api/events/", headers=auth(token))).json["count"] == 1
    await saved_after_delay(second, later, 2)
    r = await http.get(second.url + "/api/events/?ordering=date", headers=auth(token))
    assert sorted(e["title"] for e in r.json["results"]) == ["On time", "Overdue"]


@pytest_twisted.ensureDeferred
async def test_two_processes_save_a_pending_event_once(start_server, http, clock):
    from twisted.internet import task

    one = await start_server(clock=clock)
    other_clock = task.Clock()
    other_clock.advance(clock.seconds())
    two = await start_server(clock=other_clock)
    _, token = await member(http, one, "ann@example.com")
    await create_event(http, one, token, {"title": "Once"})
    # the first process holds the row's lease: only it has a timer
    armed = one.services.event_jobs.armed()
    assert armed != [] and two.services.event_jobs.armed() == []
    # the first hangs (its clock stands still) past its lease: the second takes the row over
    other_clock.advance(8)
    await two.services.event_jobs.idle()
    assert two.services.event_jobs.armed() == armed
    # the first wakes up: both timers fire, both processes try to claim the row; one saves it
    clock.advance(60)
    other_clock.advance(52)
    await one.services.event_jobs.idle()
    await two.services.event_jobs.idle()
    r = await http.get(one.url + "/api/events/", headers=auth(token))
    assert r.json["count"] == 1


@pytest_twisted.ensureDeferred
async def test_unknown_paths_methods_and_big_bodies(start_server, http):
    server = await start_server(max_body=1000)
    _, token = await member(http, server, "ann@example.com")
    r = await http.get(server.url + "/api/events/1/nothing", headers=auth(token))
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.delete(server.url + "/api/events/", headers=auth(token))
    assert r.code == 405
    r = await http.post(server.url + "/api/events/create/", data=b"x" * 5000,
                        headers={**auth(token), "Content-Type": "application/json"})
    assert r.code == 413


@pytest_twisted.ensureDeferred
async def test_sign_in_is_throttled_per_email(start_server, http, clock):
    server = await start_server(clock=clock)
    await sign_up(http, server, "ann@example.com")
    for _ in range(10):
        r = await http.post(server.url + "/api/user/sign-in/", json_body={"email": "ann@example.com", "password": "no"})
        assert r.code == 401
    r = await http.post(server.url + "/api/user/sign-in/", json_body={"email": "ann@example.com", "password": PASSWORD})
    assert (r.code, r.json) == (429, {"detail": "Request was throttled."})
    # other accounts are not affected
    await sign_up(http, server, "bob@example.com")
    await sign_in(http, server, "bob@example.com")
    clock.advance(901)
    await sign_in(http, server, "ann@example.com")


@pytest_twisted.ensureDeferred
async def test_a_live_process_takes_over_what_a_dead_one_left_within_seconds(start_server, http, clock):
    """A process that dies (its clock stands still: no timer fires, no lease is renewed) leaves
    its pending events; a live one takes them over once their lease runs out (6 s, looked at
    every 2 s) and saves each on time, or at once when it is overdue."""
    from twisted.internet import task

    survivor_clock = task.Clock()
    survivor_clock.advance(clock.seconds())
    survivor = await start_server(clock=survivor_clock)
    doomed = await start_server(clock=clock)
    _, token = await member(http, doomed, "ann@example.com")
    pending = (await create_event(http, doomed, token, {"title": "Orphan"})).json
    survivor_clock.advance(6)  # the lease runs until now
    await survivor.services.event_jobs.idle()
    assert survivor.services.event_jobs.armed() == []
    survivor_clock.advance(2)  # run out: taken over
    await survivor.services.event_jobs.idle()
    assert survivor.services.event_jobs.armed() == [pending["id"]]
    await saved_after_delay(survivor, survivor_clock, 52)  # on time
    token = (await sign_in(http, survivor, "ann@example.com"))["access"]
    r = await http.get(survivor.url + "/api/events/", headers=auth(token))
    assert [e["title"] for e in r.json["results"]] == ["Orphan"]

    # a dead process's overdue event is saved as soon as its lease runs out
    frozen = task.Clock()
    frozen.advance(survivor_clock.seconds())
    doomed = await start_server(clock=frozen, event_delay=4)
    token = (await sign_in(http, doomed, "ann@example.com"))["access"]
    await create_event(http, doomed, token, {"title": "Overdue orphan"})
    survivor_clock.advance(6)
    await survivor.services.event_jobs.idle()
    assert (await http.get(survivor.url + "/api/events/", headers=auth(token))).json["count"] == 1
    survivor_clock.advance(2)
    await survivor.services.event_jobs.idle()
    r = await http.get(survivor.url + "/api/events/?ordering=title", headers=auth(token))
    assert sorted(e["title"] for e in r.json["results"]) == ["Orphan", "Overdue orphan"]
    # the dead one wakes up: its timer fires, finds the event saved, and saves nothing
    frozen.advance(10)
    await doomed.services.event_jobs.idle()
    assert (await http.get(survivor.url + "/api/events/", headers=auth(token))).json["count"] == 2


@pytest_twisted.ensureDeferred
async def test_a_stopping_process_hands_its_pending_events_over_at_once(start_server, http, clock):
    from twisted.internet import task

    survivor_clock = task.Clock()
    survivor_clock.advance(clock.seconds())
    survivor = await start_server(clock=survivor_clock)
    leaving = await start_server(clock=clock)
    _, token = await member(http, leaving, "ann@example.com")
    pending = (await create_event(http, leaving, token, {"title": "Handed over"})).json
    await leaving.services.event_jobs.stop()  # a clean stop releases its leases
    survivor_clock.advance(2)
    await survivor.services.event_jobs.idle()
    assert survivor.services.event_jobs.armed() == [pending["id"]]
    survivor_clock.advance(58)
    await survivor.services.event_jobs.idle()
    token = (await sign_in(http, survivor, "ann@example.com"))["access"]
    r = await http.get(survivor.url + "/api/events/", headers=auth(token))
    assert [e["title"] for e in r.json["results"]] == ["Handed over"]

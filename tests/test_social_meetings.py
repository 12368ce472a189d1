"""The social door's meetings and join requests through a real port."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest_twisted

from tests.clients.social import MOSCOW, auth, create_meeting, login


@pytest_twisted.ensureDeferred
async def test_documents_example_creates_and_shapes(server, http):
    token, uid = await login(http, server, 1)
    base = server.services.base_url
    r = await http.post(server.url + "/meetings-list/", headers=auth(token),
                        json_body={"title": "title", "description": "desc", "coordinates": {"lat": 20, "lng": 30}})
    assert r.code == 201, r
    m = r.json
    today = datetime.fromtimestamp(server.services.clock.seconds(), UTC).date().isoformat()
    assert list(m) == ["id", "title", "meeting_date", "description", "group_type", "category", "owner",
                       "coordinates", "subway", "href", "confirms", "color_status"]
    assert m["title"] == "title" and m["description"] == "desc" and m["meeting_date"] == today
    assert m["coordinates"] == {"lat": 20, "lng": 30}
    assert (m["group_type"], m["category"], m["subway"], m["confirms"]) == (0, 0, None, {})
    assert m["owner"]["id"] == uid and m["owner"]["photos"] == [] and m["color_status"] == "mine"
    assert m["href"] == f"{base}/meeting-detail/{m['id']}/"

    # the full form of upstream's test
    r = await create_meeting(http, server, token, title="Sport", group_type=1, category=1, meeting_date="2031-02-20",
                     coordinates={"lat": 55.7, "lng": 37.6})
    assert r.code == 201
    assert (r.json["group_type"], r.json["category"], r.json["meeting_date"]) == (1, 1, "2031-02-20")
    r = await create_meeting(http, server, token, title="Bar", category="bar")
    assert r.json["category"] == 2

    other, _ = await login(http, server, 2)
    r = await http.get(server.url + f"/meeting-detail/{m['id']}/", headers=auth(other))
    assert r.code == 200 and r.json["color_status"] == "disapproved" and r.json["owner"]["id"] == uid
    r = await http.get(server.url + "/meetings-list/", headers=auth(other))
    assert r.code == 200 and isinstance(r.json, list) and len(r.json) == 3
    assert all({"id", "title", "description", "owner"} <= set(x) for x in r.json)
    for path in ("/meeting-detail/999/", "/meeting-detail/99999999999/"):
        r = await http.get(server.url + path, headers=auth(other))
        assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_create_validation(server, http):
    token, _ = await login(http, server, 1)
    r = await http.post(server.url + "/meetings-list/", json_body={}, headers=auth(token))
    assert (r.code, r.json) == (400, {"title": ["This field is required."], "coordinates": ["This field is required."]})
    for change, field in (
        ({"title": "x" * 33}, "title"),
        ({"title": ""}, "title"),
        ({"coordinates": {"lat": 20}}, "coordinates"),
        ({"coordinates": {"lat": "a", "lng": 1}}, "coordinates"),
        ({"coordinates": {"lat": 91, "lng": 1}}, "coordinates"),
        ({"coordinates": [1, 2]}, "coordinates"),
        ({"meeting_date": "20.02.2031"}, "meeting_date"),
        ({"group_type": 7}, "group_type"),
        ({"category": "opera"}, "category"),
        ({"category": 9}, "category"),
    ):
        r = await create_meeting(http, server, token, **change)
        assert r.code == 400 and list(r.json) == [field], (change, r)
    r = await http.get(server.url + "/meetings-list/", headers=auth(token))
    assert r.json == []


@pytest_twisted.ensureDeferred
async def test_meeting_date_as_django_parse_date(server, http):
    """meeting_date takes a month and a day of one or two digits (Django's parse_date, which the
    LetsGo app sends: `2031-7-5`), on create and update, and is always given back as YYYY-MM-DD."""
    token, _ = await login(http, server, 1)
    r = await create_meeting(http, server, token, meeting_date="2031-7-5")
    assert (r.code, r.json["meeting_date"]) == (201, "2031-07-05")
    url = server.url + f"/meeting-detail/{r.json['id']}/"
    assert (await http.get(url, headers=auth(token))).json["meeting_date"] == "2031-07-05"
    for sent, shown in (("2031-12-5", "2031-12-05"), ("2031-1-25", "2031-01-25"), ("2032-2-29", "2032-02-29")):
        r = await http.put(url, headers=auth(token), json_body={"meeting_date": sent})
        assert (r.code, r.json["meeting_date"]) == (200, shown), sent
    r = await http.post(server.url + "/meetings-list/", headers=auth(token), data={
        "title": "form", "coordinates": json.dumps(MOSCOW), "meeting_date": "2031-3-9"})
    assert (r.code, r.json["meeting_date"]) == (201, "2031-03-09")
    assert sorted(m["meeting_date"] for m in (await http.get(server.url + "/meetings-list/", headers=auth(token))).json) \
        == ["2031-03-09", "2032-02-29"]
    for sent in ("2031-2-29", "2031-13-5", "2031-7-32", "2031-07-005", "31-7-5", "2031-7", "2031.7.5",
                 "٢٠٣١-٧-٥", "2031-7-5x"):
        r = await create_meeting(http, server, token, meeting_date=sent)
        assert (r.code, r.json) == (400, {"meeting_date": [
            "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]."]}), sent
        r = await http.put(url, headers=auth(token), json_body={"meeting_date": sent})
        assert r.code == 400, sent
    assert (await http.get(url, headers=auth(token))).json["meeting_date"] == "2032-02-29"


@pytest_twisted.ensureDeferred
async def test_three_meetings_a_day(start_server, http, clock):
    server = await start_server(clock=clock)
    token, _ = await login(http, server, 1)
    # start at 00:00:10 UTC of the clock's next day so the test does not cross midnight
    now = clock.seconds()
    clock.advance(86400 - now % 86400 + 10)
    for i in range(3):
        r = await create_meeting(http, server, token, title=f"m{i}")
        assert r.code == 201
    r = await create_meeting(http, server, token, title="m3")
    assert (r.code, r.json) == (200, {"status": 429, "msg": "user's trying to create more than MAX_MEETINGS meetings",
                                      "data": None})
    # another user is not limited by it
    other, _ = await login(http, server, 2)
    assert (await create_meeting(http, server, other)).code == 201
    # the next day
    clock.advance(86400)
    assert (await create_meeting(http, server, token, title="m4")).code == 201
    r = await http.get(server.url + "/meetings-list/", headers=auth(token))
    assert len(r.json) == 5


@pytest_twisted.ensureDeferred
async def test_daily_limit_holds_for_parallel_requests(start_server, http, clock):
    from twisted.internet import defer

    server = await start_server(clock=clock)
    clock.advance(86400 - clock.seconds() % 86400 + 10)
    token, _ = await login(http, server, 1)
    results = await defer.gatherResults([
        defer.ensureDeferred(create_meeting(http, server, token, title=f"p{i}")) for i in range(6)])
    assert sorted(r.code for r in results) == [200, 200, 200, 201, 201, 201]
    assert all(r.json["status"] == 429 for r in results if r.code == 200)
    r = await http.get(server.url + "/meetings-list/", headers=auth(token))
    assert len(r.json) == 3


@pytest_twisted.ensureDeferred
async def test_parallel_duplicate_requests(server, http):
    from twisted.internet import defer

    owner, _ = await login(http, server, 1)
    a, _ = await login(http, server, 2)
    m = (await create_meeting(http, server, owner)).json
    results = await defer.gatherResults([
        defer.ensureDeferred(http.post(server.url + f"/meeting-confirm/{m['id']}/", headers=auth(a)))
        for _ in range(4)])
    assert sorted(r.json["status"] for r in results) == [200, 400, 400, 400]
    assert len((await http.get(server.url + "/confirms-list/", headers=auth(owner))).json) == 1


@pytest_twisted.ensureDeferred
async def test_update_meeting_owner_only(server, http):
    token, uid = await login(http, server, 1)
    other, _ = await login(http, server, 2)
    m = (await create_meeting(http, server, token)).json
    url = server.url + f"/meeting-detail/{m['id']}/"
    r = await http.put(url, headers=auth(token), json_body={
        "title": "new", "description": "new desc", "coordinates": {"lat": 10.5, "lng": -20.25}})
    assert r.code == 200
    assert (r.json["title"], r.json["description"], r.json["coordinates"]) == ("new", "new desc", {"lat": 10.5, "lng": -20.25})
    r = await http.put(url, headers=auth(token), json_body={"meeting_date": "2030-01-02"})
    assert r.json["meeting_date"] == "2030-01-02" and r.json["title"] == "new"
    r = await http.put(url, headers=auth(token), json_body={"title": "x" * 40})
    assert r.code == 400 and list(r.json) == ["title"]
    for target, who in ((url, other), (server.url + "/meeting-detail/999/", token)):
        r = await http.put(target, headers=auth(who), json_body={"title": "hijack"})
        assert (r.code, r.json) == (403, {"detail": "You do not have permission to perform this action."})
    r = await http.get(url, headers=auth(other))
    assert r.json["title"] == "new"


@pytest_twisted.ensureDeferred
async def test_meeting_types(server, http):
    token, _ = await login(http, server, 1)
    r = await http.get(server.url + "/meeting-types/", headers=auth(token))
    assert r.code == 200 and r.json["status"] == 200 and r.json["msg"] == "ok"
    assert isinstance(r.json["data"], str)
    assert json.loads(r.json["data"]) == [["general", 0], ["sport", 1], ["bar", 2], ["dance", 3]]


async def _set_profile(http, server, token, **values):
    r = await http.put(server.url + "/user-detail/", headers=auth(token), json_body=values)
    assert r.code == 200, r


@pytest_twisted.ensureDeferred
async def test_distance_and_owner_filters(server, http):
    today = datetime.fromtimestamp(server.services.clock.seconds(), UTC).date()
    woman, _ = await login(http, server, 1)
    man, _ = await login(http, server, 2)
    kid, _ = await login(http, server, 3)
    await _set_profile(http, server, woman, gender=0, birth_date=(today.replace(year=today.year - 30)).isoformat())
    await _set_profile(http, server, man, gender=1, birth_date=(today.replace(year=today.year - 40)).isoformat())
    await _set_profile(http, server, kid, gender=1, birth_date=(today - timedelta(days=365 * 10)).isoformat())
    kremlin = (await create_meeting(http, server, woman, title="kremlin", category=1)).json
    # about 11 km north of the Kremlin
    north = (await create_meeting(http, server, man, title="north", coordinates={"lat": 55.851244, "lng": 37.618423})).json
    # about 63 km east: never within the 30 km cap
    far = (await create_meeting(http, server, kid, title="far", category=1,
                        coordinates={"lat": 55.751244, "lng": 38.62})).json
    # the other side of the antimeridian
    fiji_w = (await create_meeting(http, server, woman, title="fiji-w", coordinates={"lat": -17.0, "lng": 179.95})).json
    fiji_e = (await create_meeting(http, server, man, title="fiji-e", coordinates={"lat": -17.0, "lng": -179.95})).json

    async def titles(**params):
        r = await http.get(server.url + "/meetings-list/", headers=auth(woman),
                           params={k: str(v) for k, v in params.items()})
        assert r.code == 200, r
        return sorted(m["title"] for m in r.json)

    everything = ["far", "fiji-e", "fiji-w", "kremlin", "north"]
    assert await titles() == everything
    # without all three of lat, lng, r there is no filter at all (upstream)
    assert await titles(lat=55.75, lng=37.61) == everything
    assert await titles(lat=55.75, lng=37.61, category="sport") == everything
    assert await titles(lat=55.751244, lng=37.618423, r=1) == ["kremlin"]
    assert await titles(lat=55.751244, lng=37.618423, r=12) == ["kremlin", "north"]
    assert await titles(lat=55.751244, lng=37.618423, r=10.9) == ["kremlin"]
    # r is capped at 30 km
    assert await titles(lat=55.751244, lng=37.618423, r=1000) == ["kremlin", "north"]
    assert await titles(lat=55.751244, lng=38.62, r=1) == ["far"]
    assert await titles(lat=-17.0, lng=180.0, r=10) == ["fiji-e", "fiji-w"]
    # not numbers: Moscow and 30 km (upstream)
    assert await titles(lng="kek", lat=2.2, r="lol") == ["kremlin", "north"]
    near = dict(lat=55.751244, lng=37.618423, r=30)
    assert await titles(category="sport", **near) == ["kremlin"]
    assert await titles(category="general", **near) == ["north"]
    assert await titles(gender=1, **near) == ["north"]
    assert await titles(gender=0, **near) == ["kremlin"]
    assert await titles(age_from=25, age_to=35, **near) == ["kremlin"]
    assert await titles(age_from=35, age_to=45, gender=1, **near) == ["north"]
    assert await titles(age_from=0, age_to=14, lat=55.751244, lng=38.62, r=5) == ["far"]
    assert await titles(age_from=41, **near) == []
    for bad in ({"category": "opera"}, {"gender": "x"}, {"gender": 3}, {"age_from": "old"}):
        r = await http.get(server.url + "/meetings-list/", headers=auth(woman),
                           params={**{k: str(v) for k, v in near.items()}, **bad})
        assert r.code == 400 and list(r.json) == list(bad), bad
    assert {kremlin["id"], north["id"], far["id"], fiji_w["id"], fiji_e["id"]}


@pytest_twisted.ensureDeferred
async def test_join_requests_flow(server, http):
    owner, owner_id = await login(http, server, 1, first_name="Owner")
    a, a_id = await login(http, server, 2, first_name="A")
    b, b_id = await login(http, server, 3, first_name="B")
    m = (await create_meeting(http, server, owner, title="group", group_type=1)).json
    url = server.url + f"/meeting-confirm/{m['id']}/"

    r = await http.post(url, headers=auth(a))
    assert (r.code, r.json) == (200, {"status": 200, "msg": "ok", "data": None})
    r = await http.post(url, headers=auth(a))
    assert r.json == {"status": 400, "msg": "you cannot create more than one confirm", "data": None}
    r = await http.post(url, headers=auth(owner))
    assert r.json == {"status": 400, "msg": "you can not confirm to your event", "data": None}
    for path in ("/meeting-confirm/999/", "/meeting-confirm/99999999999/"):
        r = await http.post(server.url + path, headers=auth(a))
        assert r.json == {"status": 404, "msg": "meeting does not exist", "data": None}
    await http.post(url, headers=auth(b))

    r = await http.get(server.url + "/unread-confirms/", headers=auth(owner))
    assert r.json["status"] == 200 and json.loads(r.json["data"]) == {"unread": 2}
    r = await http.get(server.url + "/unread-confirms/", headers=auth(a))
    assert json.loads(r.json["data"]) == {"unread": 0}
    # only the owner sees requests on their meetings
    assert (await http.get(server.url + "/confirms-list/", headers=auth(a))).json == []
    r = await http.get(server.url + "/confirms-list/", headers=auth(owner))
    assert r.code == 200 and len(r.json) == 2
    item = r.json[0]
    assert list(item) == ["id", "user", "date_create", "is_approved", "is_rejected", "meeting"]
    assert item["user"]["id"] == a_id and item["user"]["first_name"] == "A"
    assert set(item["user"]) == {"id", "gender", "birth_date", "first_name", "about", "avatar", "href"}
    assert item["meeting"]["id"] == m["id"] and "confirms" not in item["meeting"]
    assert item["meeting"]["color_status"] == "mine"
    assert item["date_create"].endswith("Z") and not item["is_approved"] and not item["is_rejected"]
    # listing marked them read
    r = await http.get(server.url + "/unread-confirms/", headers=auth(owner))
    assert json.loads(r.json["data"]) == {"unread": 0}
    a_req, b_req = r_ids = [x["id"] for x in (await http.get(server.url + "/confirms-list/", headers=auth(owner))).json]
    assert len(r_ids) == 2

    # confirm-action: the meeting's owner only, and only on a request that exists
    action = server.url + f"/confirm-action/{a_req}/"
    for who, target in ((a, action), (b, action), (owner, server.url + "/confirm-action/999/")):
        r = await http.put(target, headers=auth(who), json_body={"is_approved": True})
        assert (r.code, r.json) == (403, {"detail": "You do not have permission to perform this action."})
    r = await http.put(action, headers=auth(owner), json_body={"is_approved": "maybe"})
    assert r.code == 400 and list(r.json) == ["is_approved"]
    r = await http.put(action, headers=auth(owner), json_body={"is_approved": True, "is_rejected": True})
    assert r.code == 400 and list(r.json) == ["non_field_errors"]
    # approve (form body, DRF style booleans)
    r = await http.put(action, headers=auth(owner), data={"is_approved": "True"})
    assert r.code == 200
    assert r.json["id"] == a_req and r.json["is_approved"] is True and r.json["is_rejected"] is False
    assert r.json["is_read"] is True and r.json["user"]["id"] == a_id
    assert list(r.json) == ["id", "user", "date_create", "is_approved", "is_rejected", "is_read"]
    r = await http.put(action, headers=auth(owner), json_body={"is_approved": False})
    assert r.code == 400
    # reject b
    r = await http.put(server.url + f"/confirm-action/{b_req}/", headers=auth(owner), json_body={"is_rejected": True})
    assert r.code == 200 and r.json["is_rejected"] is True and r.json["is_approved"] is False
    # answered requests leave the list
    assert (await http.get(server.url + "/confirms-list/", headers=auth(owner))).json == []

    # color status per viewer
    r = await http.get(server.url + f"/meeting-detail/{m['id']}/", headers=auth(a))
    assert r.json["color_status"] == "approved"
    r = await http.get(server.url + f"/meeting-detail/{m['id']}/", headers=auth(b))
    assert r.json["color_status"] == "disapproved"
    r = await http.get(server.url + "/meetings-list/", headers=auth(owner))
    assert r.json[0]["color_status"] == "mine"


@pytest_twisted.ensureDeferred
async def test_unread_counts_answered_requests_until_read(server, http):
    owner, _ = await login(http, server, 1)
    a, _ = await login(http, server, 2)
    b, _ = await login(http, server, 3)
    m1 = (await create_meeting(http, server, owner, title="one")).json
    m2 = (await create_meeting(http, server, owner, title="two")).json
    await http.post(server.url + f"/meeting-confirm/{m1['id']}/", headers=auth(a))
    await http.post(server.url + f"/meeting-confirm/{m2['id']}/", headers=auth(b))
    # upstream's test: reject without reading leaves is_read false
    r = await http.put(server.url + "/confirm-action/1/", headers=auth(owner), json_body={"is_rejected": True})
    assert r.json["is_rejected"] is True and r.json["is_read"] is False
    r = await http.get(server.url + "/unread-confirms/", headers=auth(owner))
    assert json.loads(r.json["data"])["unread"] == 2
    r = await http.put(server.url + "/confirm-action/1/", headers=auth(owner), json_body={"is_read": True})
    assert r.json["is_read"] is True
    r = await http.get(server.url + "/unread-confirms/", headers=auth(owner))
    assert json.loads(r.json["data"])["unread"] == 1

"""Phone door (seed 002): meetings, their king, invitations, blocks."""

from __future__ import annotations

import io

import pytest_twisted

from tests.clients.images import png
from tests.clients.phone import PHONES, auth, create_meeting, sign_up


async def users(http, server, n):
    return [await sign_up(http, server, PHONES[i], name=f"u{i}") for i in range(n)]


@pytest_twisted.ensureDeferred
async def test_create_meeting(server, http):
    (a, ta), (b, tb), (c, tc), (d, td) = await users(http, server, 4)
    # d has blocked a: d is left out; unknown ids too; the creator is added; completed ignored
    await http.put(server.url + "/api/blacklist/", headers=auth(td), json_body={"user": a})
    m = await create_meeting(http, server, ta, users=[b, c, d, 9999, b], completed="true",
                     description="sss", time="2016-10-22T18:23:45.121940Z")
    assert set(m) == {"id", "title", "description", "logo", "time", "created", "completed", "king", "users"}
    assert (m["title"], m["description"], m["completed"], m["king"]) == ("fff", "sss", False, a)
    assert sorted(m["users"]) == [a, b, c]
    assert m["time"] == "2016-10-22T18:23:45.121940Z"
    assert m["created"].endswith("Z")
    got = await http.get(m["logo"].replace(server.services.base_url, server.url))
    assert got.code == 200 and got.body == png(4, 4)
    # a's block of b does not keep b out (only users who blocked the creator are left out)
    m2 = await create_meeting(http, server, tb, users=[], time="")
    assert (m2["users"], m2["king"], m2["description"], m2["time"]) == ([b], b, None, None)
    # naive times are UTC; a whole second renders without a fraction, as DRF does
    m3 = await create_meeting(http, server, tb, title="  padded  ", time="2031-02-20T10:00")
    assert (m3["title"], m3["time"]) == ("padded", "2031-02-20T10:00:00Z")
    m4 = await create_meeting(http, server, tb, time="2031-02-20T10:00:00+03:00")
    assert m4["time"] == "2031-02-20T07:00:00Z"


@pytest_twisted.ensureDeferred
async def test_create_meeting_errors(server, http):
    (a, ta), = await users(http, server, 1)
    url = server.url + "/api/meetings/"
    r = await http.post(url, headers=auth(ta), data={"description": ""},
                        files={"logo": ("l.png", "image/png", io.BytesIO(b"nope"))})
    assert (r.code, r.json) == (400, {
        "title": ["This field is required."],
        "description": ["This field may not be blank."],
        "logo": ["Upload a valid image. The file you uploaded was either not an image or a corrupted image."],
    })
    r = await http.post(url, headers=auth(ta), json_body={"title": "", "logo": "", "users": ["x"], "time": "tomorrow"})
    assert r.code == 400
    assert r.json == {
        "users": ["A valid integer is required."],
        "time": ["Datetime has wrong format. Use one of these formats instead: "
                 "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."],
        "title": ["This field may not be blank."],
        "logo": ["No file was submitted."],
    }
    r = await http.get(url, headers=auth(ta))
    assert r.json == []


@pytest_twisted.ensureDeferred
async def test_list_and_get(server, http):
    (a, ta), (b, tb), (c, tc) = await users(http, server, 3)
    m1 = await create_meeting(http, server, ta, users=[b])
    m2 = await create_meeting(http, server, ta)
    r = await http.patch(server.url + f"/api/meetings/{m2['id']}/", headers=auth(ta), json_body={"completed": True})
    assert r.code == 200 and r.json["completed"] is True
    r = await http.get(server.url + "/api/meetings/", headers=auth(ta))
    assert r.code == 200 and [m["id"] for m in r.json] == [m1["id"]]
    r = await http.get(server.url + "/api/meetings/", params={"all": "true"}, headers=auth(ta))
    assert [m["id"] for m in r.json] == [m1["id"], m2["id"]]
    r = await http.get(server.url + "/api/meetings/", params={"all": "false"}, headers=auth(ta))
    assert [m["id"] for m in r.json] == [m1["id"]]
    r = await http.get(server.url + "/api/meetings/", params={"all": "perhaps"}, headers=auth(ta))
    assert (r.code, r.json) == (400, {"all": ['"perhaps" is not a valid boolean.']})
    r = await http.get(server.url + "/api/meetings/", headers=auth(tb))
    assert [m["id"] for m in r.json] == [m1["id"]]
    r = await http.get(server.url + "/api/meetings/", headers=auth(tc))
    assert r.json == []
    # one meeting: members only (completed ones too); 200 with the meeting
    r = await http.get(server.url + f"/api/meetings/{m2['id']}/", headers=auth(ta))
    assert r.code == 200 and r.json["completed"] is True
    r = await http.get(server.url + f"/api/meetings/{m1['id']}/", headers=auth(tb))
    assert r.code == 200 and r.json == m1
    r = await http.get(server.url + f"/api/meetings/{m1['id']}/", headers=auth(tc))
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.get(server.url + "/api/meetings/424242/", headers=auth(ta))
    assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_invite(server, http):
    (a, ta), (b, tb), (c, tc), (d, td) = await users(http, server, 4)
    m = await create_meeting(http, server, ta, users=[b])
    url = server.url + f"/api/meetings/{m['id']}/users/"
    # any member may invite
    r = await http.put(url, headers=auth(tb), json_body={"user": c})
    assert r.code == 200 and sorted(r.json["users"]) == [a, b, c] and r.json["king"] == a
    # already a member: no change
    r = await http.put(url, headers=auth(ta), json_body={"user": c})
    assert r.code == 200 and sorted(r.json["users"]) == [a, b, c]
    # d blocked a: not added, still 200
    await http.put(server.url + "/api/blacklist/", headers=auth(td), json_body={"user": a})
    r = await http.put(url, headers=auth(ta), json_body={"user": d})
    assert r.code == 200 and d not in r.json["users"]
    # but b (not blocked by d) can invite d
    r = await http.put(url, headers=auth(tb), json_body={"user": d})
    assert d in r.json["users"]
    r = await http.put(url, headers=auth(ta), json_body={"user": a})
    assert (r.code, r.json) == (400, {"user": ["Can not do it with yourself."]})
    r = await http.put(url, headers=auth(ta), json_body={"user": 9999})
    assert (r.code, r.json) == (400, {"user": ["User with this id does not exist."]})
    r = await http.put(url, headers=auth(ta), json_body={"user": "abc"})
    assert (r.code, r.json) == (400, {"user": ["A valid integer is required."]})
    # a non-member: 404, before the body is looked at
    (e, te) = await sign_up(http, server, PHONES[6])
    r = await http.put(url, headers=auth(te), json_body={"user": "abc"})
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    # a completed meeting: 404
    await http.patch(server.url + f"/api/meetings/{m['id']}/", headers=auth(ta), json_body={"completed": True})
    r = await http.put(url, headers=auth(ta), json_body={"user": e})
    assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_exclude(server, http):
    (a, ta), (b, tb), (c, tc), (d, td) = await users(http, server, 4)
    m = await create_meeting(http, server, ta, users=[b, c])
    url = server.url + f"/api/meetings/{m['id']}/users/"
    r = await http.delete(url, headers=auth(tb), json_body={"user": c})
    assert (r.code, r.json) == (403, {"detail": "You do not have permission to perform this action."})
    r = await http.delete(url, headers=auth(tb), json_body={"user": "x"})
    assert (r.code, r.json) == (400, {"user": ["A valid integer is required."]})
    r = await http.delete(url, headers=auth(td), json_body={"user": c})
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.delete(url, headers=auth(ta), json_body={"user": c})
    assert r.code == 200 and sorted(r.json["users"]) == [a, b]
    r = await http.delete(url, headers=auth(ta), json_body={"user": c})
    assert r.code == 200 and sorted(r.json["users"]) == [a, b]
    r = await http.delete(url, headers=auth(ta), json_body={"user": a})
    assert (r.code, r.json) == (400, {"user": ["Can not do it with yourself."]})
    r = await http.delete(url, headers=auth(ta), json_body={"user": 9999})
    assert (r.code, r.json) == (400, {"user": ["User with this id does not exist."]})
    r = await http.get(server.url + f"/api/meetings/{m['id']}/", headers=auth(tc))
    assert r.code == 404
    # the excluded user can be invited again
    r = await http.put(url, headers=auth(tb), json_body={"user": c})
    assert c in r.json["users"]
    await http.patch(server.url + f"/api/meetings/{m['id']}/", headers=auth(ta), json_body={"completed": True})
    r = await http.delete(url, headers=auth(ta), json_body={"user": c})
    assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_leave_passes_the_crown(server, http):
    (a, ta), (b, tb), (c, tc) = await users(http, server, 3)
    m = await create_meeting(http, server, ta, users=[b, c])
    url = server.url + f"/api/meetings/{m['id']}/"
    r = await http.delete(url, headers=auth(ta))
    assert (r.code, r.body) == (204, b"")
    r = await http.get(url, headers=auth(ta))
    assert r.code == 404
    r = await http.get(url, headers=auth(tb))
    assert sorted(r.json["users"]) == [b, c] and r.json["king"] in (b, c)
    king, other = (tb, tc) if r.json["king"] == b else (tc, tb)
    # a non-member cannot leave
    r = await http.delete(url, headers=auth(ta))
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    # leaving works on completed meetings too
    r = await http.patch(url, headers=auth(king), json_body={"completed": True})
    assert r.code == 200
    r = await http.delete(url, headers=auth(king))
    assert r.code == 204
    r = await http.get(url, headers=auth(other))
    assert len(r.json["users"]) == 1 and r.json["king"] == r.json["users"][0]
    r = await http.delete(url, headers=auth(other))
    assert r.code == 204
    r = await http.get(url, headers=auth(other))
    assert r.code == 404


@pytest_twisted.ensureDeferred
async def test_complete(server, http):
    (a, ta), (b, tb), (c, tc) = await users(http, server, 3)
    m = await create_meeting(http, server, ta, users=[b])
    url = server.url + f"/api/meetings/{m['id']}/"
    r = await http.patch(url, headers=auth(tb), json_body={"completed": True})
    assert (r.code, r.json) == (403, {"detail": "You do not have permission to perform this action."})
    r = await http.patch(url, headers=auth(tc), json_body={"completed": True})
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.patch(url, headers=auth(ta), json_body={"completed": False})
    assert (r.code, r.json) == (400, {"completed": ["completed must be True or not specified."]})
    r = await http.patch(url, headers=auth(ta), json_body={})
    assert r.code == 200 and r.json["completed"] is False
    r = await http.patch(url, headers=auth(ta), json_body={"completed": True})
    assert r.code == 200 and r.json["completed"] is True
    # a completed meeting cannot be patched again
    r = await http.patch(url, headers=auth(ta), json_body={"completed": True})
    assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_deleting_a_king_passes_crowns(server, http):
    (a, ta), (b, tb) = await users(http, server, 2)
    m = await create_meeting(http, server, ta, users=[b])
    solo = await create_meeting(http, server, ta)
    r = await http.delete(server.url + "/api/account/", headers=auth(ta))
    assert r.code == 204
    r = await http.get(server.url + f"/api/meetings/{m['id']}/", headers=auth(tb))
    assert r.code == 200 and (r.json["users"], r.json["king"]) == ([b], b)
    r = await http.get(server.url + "/api/meetings/", headers=auth(tb))
    assert [x["id"] for x in r.json] == [m["id"]]
    assert solo["id"] != m["id"]


@pytest_twisted.ensureDeferred
async def test_odd_input_never_500(server, http):
    (a, ta), (b, tb) = await users(http, server, 2)
    m = await create_meeting(http, server, ta, users=[b])
    weird = [None, [1], {"a": 1}, True, 1.5, "x" * 300, "", -1, 10**20, "١٢٣"]
    fields_ = ["phone", "code", "is_new", "name", "hidden_phone", "avatar", "user", "names", "phones",
               "title", "description", "time", "users", "completed", "logo"]
    endpoints = [("POST", "/api/auth/code/"), ("POST", "/api/auth/users/"), ("PATCH", "/api/account/"),
                 ("PUT", "/api/blacklist/"), ("DELETE", "/api/blacklist/"), ("PUT", "/api/contacts/"),
                 ("DELETE", "/api/contacts/"), ("POST", "/api/meetings/"), ("PATCH", f"/api/meetings/{m['id']}/"),
                 ("PUT", f"/api/meetings/{m['id']}/users/"), ("DELETE", f"/api/meetings/{m['id']}/users/")]
    for method, path in endpoints:
        for value in weird:
            body = {f: value for f in fields_}
            body["is_new"] = True if path == "/api/auth/users/" and value is None else body["is_new"]
            r = await http.request(method, server.url + path, json_body=body, headers=auth(tb))
            assert r.code < 500, (method, path, value, r)
            assert isinstance(r.json, (dict, list)), (method, path, value)
    for q in ["users=-1", "users=99999999999", "users=1&users=", "all=", "all=1&all=x"]:
        for path in ["/api/users/", "/api/meetings/"]:
            r = await http.get(server.url + path + "?" + q, headers=auth(tb))
            assert r.code < 500, (path, q, r)
    # nothing changed for b
    r = await http.get(server.url + "/api/account/", headers=auth(tb))
    assert r.code == 200 and r.json["name"] == "u1"

"""Phone door (seed 002): users seen by each viewer, blacklist, contacts."""

from __future__ import annotations

import pytest_twisted

from tests.clients.phone import PHONES, auth, sign_up


async def three(http, server):
    a = await sign_up(http, server, PHONES[0], name="alice")
    b = await sign_up(http, server, PHONES[1], name="bob")
    c = await sign_up(http, server, PHONES[2], name="carol")
    return a, b, c


@pytest_twisted.ensureDeferred
async def test_users_views_depend_on_viewer(server, http):
    (a, ta), (b, tb), (c, tc) = await three(http, server)
    url = server.url + "/api/users/"
    r = await http.get(url, params={"users": [str(c), str(b), "999"]}, headers=auth(ta))
    assert r.code == 200
    assert [u["id"] for u in r.json] == [b, c]  # unknown skipped, ordered by id
    assert r.json[0] == {"id": b, "name": "bob", "phone": PHONES[1], "avatar": r.json[0]["avatar"]}
    assert r.json[0]["avatar"].startswith("http")

    # the viewer sees themself as the full account
    r = await http.get(url + str(a), headers=auth(ta))
    assert set(r.json) == {"id", "name", "phone", "created", "hidden_phone", "avatar"}
    # with and without the trailing slash
    r2 = await http.get(url + str(a) + "/", headers=auth(ta))
    assert r2.code == 200 and r2.json == r.json

    # a contact: the viewer's name for them, phone shown even when hidden
    await http.put(server.url + "/api/contacts/", headers=auth(ta), json_body={"names": ["world"], "phones": [PHONES[1]]})
    await http.patch(server.url + "/api/account/", headers=auth(tb), json_body={"hidden_phone": True})
    r = await http.get(url + str(b), headers=auth(ta))
    assert (r.json["name"], r.json["phone"]) == ("world", PHONES[1])
    # hidden phone: not shown to others
    r = await http.get(url + str(b), headers=auth(tc))
    assert r.json == {"id": b, "name": "bob", "avatar": r.json["avatar"]}
    # blocked the viewer: phone not shown to them
    await http.put(server.url + "/api/blacklist/", headers=auth(tc), json_body={"user": a})
    r = await http.get(url + str(c), headers=auth(ta))
    assert "phone" not in r.json and r.json["name"] == "carol"
    r = await http.get(url + str(c), headers=auth(tb))
    assert r.json["phone"] == PHONES[2]

    r = await http.get(url + "99999", headers=auth(ta))
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.get(url + "99999999999999", headers=auth(ta))
    assert (r.code, r.json) == (404, {"detail": "Not found."})
    r = await http.get(url + "abc", headers=auth(ta))
    assert (r.code, r.json) == (404, {"detail": "Not found."})


@pytest_twisted.ensureDeferred
async def test_users_list_errors(server, http):
    _, t = await sign_up(http, server, PHONES[0])
    url = server.url + "/api/users/"
    r = await http.get(url, headers=auth(t))
    assert (r.code, r.json) == (400, {"users": ["This list may not be empty."]})
    r = await http.get(url, params={"users": ["1", "x"]}, headers=auth(t))
    assert (r.code, r.json) == (400, {"users": ["A valid integer is required."]})


@pytest_twisted.ensureDeferred
async def test_blacklist(server, http):
    (a, ta), (b, tb), (c, tc) = await three(http, server)
    url = server.url + "/api/blacklist/"
    r = await http.get(url, headers=auth(ta))
    assert (r.code, r.json) == (200, [])
    r = await http.put(url, headers=auth(ta), json_body={"user": b})
    assert r.code == 200 and [u["id"] for u in r.json] == [b]
    r = await http.put(url, headers=auth(ta), json_body={"user": b})
    assert r.code == 200 and [u["id"] for u in r.json] == [b]
    r = await http.put(url, headers=auth(ta), data={"user": str(c)})
    assert [u["id"] for u in r.json] == [b, c]
    r = await http.delete(url, headers=auth(ta), json_body={"user": b})
    assert (r.code, [u["id"] for u in r.json]) == (200, [c])
    r = await http.get(url, headers=auth(ta))
    assert [u["id"] for u in r.json] == [c]
    for method in (http.put, http.delete):
        r = await method(url, headers=auth(ta), json_body={"user": a})
        assert (r.code, r.json) == (400, {"user": ["Can not do it with yourself."]})
        r = await method(url, headers=auth(ta), json_body={"user": 9999})
        assert (r.code, r.json) == (400, {"user": ["User with this id does not exist."]})
        r = await method(url, headers=auth(ta), json_body={"user": "x"})
        assert (r.code, r.json) == (400, {"user": ["A valid integer is required."]})
        r = await method(url, headers=auth(ta), json_body={})
        assert (r.code, r.json) == (400, {"user": ["This field is required."]})


@pytest_twisted.ensureDeferred
async def test_contacts(server, http):
    (a, ta), (b, tb), (c, tc) = await three(http, server)
    url = server.url + "/api/contacts/"
    r = await http.get(url, headers=auth(ta))
    assert (r.code, r.json) == (200, [])
    r = await http.put(url, headers=auth(ta), json_body={"names": ["x", "y"], "phones": [PHONES[1], PHONES[1]]})
    assert (r.code, r.json) == (400, {"phones": ["Phone list contains duplicates."]})
    spaced = "+7 925 074-14-11"  # the same number as PHONES[1], written otherwise
    r = await http.put(url, headers=auth(ta), json_body={"names": ["x", "y"], "phones": [PHONES[1], spaced]})
    assert (r.code, r.json) == (400, {"phones": ["Phone list contains duplicates."]})
    r = await http.put(url, headers=auth(ta), json_body={"names": ["x", "y"], "phones": [PHONES[1]]})
    assert (r.code, r.json) == (400, {"non_field_errors": ["The number of phones must be equal to the number of names."]})
    r = await http.put(url, headers=auth(ta), json_body={"names": ["me"], "phones": [PHONES[0]]})
    assert (r.code, r.json) == (400, {"phones": ["The phones list contains user phone."]})
    r = await http.put(url, headers=auth(ta), json_body={"names": ["x"], "phones": ["12345"]})
    assert (r.code, r.json) == (400, {"phones": ["Invalid phone number."]})
    r = await http.put(url, headers=auth(ta), json_body={"names": [], "phones": []})
    assert (r.code, r.json) == (400, {"names": ["This list may not be empty."], "phones": ["This list may not be empty."]})
    r = await http.put(url, headers=auth(ta), json_body={})
    assert (r.code, r.json) == (400, {"names": ["This field is required."], "phones": ["This field is required."]})

    r = await http.put(url, headers=auth(ta), json_body={"names": ["Bobby", "Carrie", "Nobody"],
                                                       "phones": [PHONES[1], PHONES[2], PHONES[5]]})
    assert r.code == 200
    assert [(u["id"], u["name"], u["phone"]) for u in r.json] == [(b, "Bobby", PHONES[1]), (c, "Carrie", PHONES[2])]
    # a second import renames
    r = await http.put(url, headers=auth(ta), data={"names": ["Robert"], "phones": [PHONES[1]]})
    assert [(u["id"], u["name"]) for u in r.json] == [(b, "Robert")]
    r = await http.get(url, headers=auth(ta))
    assert [(u["id"], u["name"]) for u in r.json] == [(b, "Robert"), (c, "Carrie")]

    r = await http.delete(url, headers=auth(ta), json_body={"phones": [PHONES[1], PHONES[5]]})
    assert (r.code, [u["id"] for u in r.json]) == (200, [c])
    r = await http.delete(url, headers=auth(ta), json_body={"phones": []})
    assert (r.code, r.json) == (400, {"phones": ["This list may not be empty."]})
    r = await http.delete(url, headers=auth(ta), json_body={"phones": ["bad"]})
    assert (r.code, r.json) == (400, {"phones": ["Invalid phone number."]})
    # the contact that was not a user becomes one when they sign up
    r = await http.put(url, headers=auth(ta), json_body={"names": ["Newbie"], "phones": [PHONES[5]]})
    assert r.json == []
    n, _ = await sign_up(http, server, PHONES[5])
    r = await http.get(url, headers=auth(ta))
    assert [(u["id"], u["name"]) for u in r.json] == [(c, "Carrie"), (n, "Newbie")]


@pytest_twisted.ensureDeferred
async def test_deleting_an_account_removes_relations(server, http):
    (a, ta), (b, tb), (c, tc) = await three(http, server)
    await http.put(server.url + "/api/contacts/", headers=auth(ta), json_body={"names": ["B"], "phones": [PHONES[1]]})
    await http.put(server.url + "/api/blacklist/", headers=auth(tc), json_body={"user": b})
    r = await http.delete(server.url + "/api/account/", headers=auth(tb))
    assert r.code == 204
    r = await http.get(server.url + "/api/contacts/", headers=auth(ta))
    assert r.json == []
    r = await http.get(server.url + "/api/blacklist/", headers=auth(tc))
    assert r.json == []
    r = await http.get(server.url + f"/api/users/{b}", headers=auth(ta))
    assert r.code == 404
    # signing up again with the phone: the old contact names them again
    b2, _ = await sign_up(http, server, PHONES[1])
    r = await http.get(server.url + "/api/contacts/", headers=auth(ta))
    assert [(u["id"], u["name"]) for u in r.json] == [(b2, "B")]


@pytest_twisted.ensureDeferred
async def test_concurrent_blocks_and_imports(server, http):
    from twisted.internet import defer

    (a, ta), (b, tb), (c, tc) = await three(http, server)
    url = server.url + "/api/blacklist/"
    results = await defer.gatherResults([
        defer.ensureDeferred(http.put(url, headers=auth(ta), json_body={"user": b})) for _ in range(5)
    ])
    assert [r.code for r in results] == [200] * 5
    r = await http.get(url, headers=auth(ta))
    assert [u["id"] for u in r.json] == [b]
    body = {"names": ["B", "C"], "phones": [PHONES[1], PHONES[2]]}
    results = await defer.gatherResults([
        defer.ensureDeferred(http.put(server.url + "/api/contacts/", headers=auth(ta), json_body=body))
        for _ in range(5)
    ])
    assert [r.code for r in results] == [200] * 5
    r = await http.get(server.url + "/api/contacts/", headers=auth(ta))
    assert [u["id"] for u in r.json] == [b, c]

"""The rooms list and room detail read in one query / one transaction (bench/ issue 7):
the same answers as before, newest room first, members ordered by id, members only."""

from __future__ import annotations

import pytest_twisted

from tests.clients.rooms import auth, register


@pytest_twisted.ensureDeferred
async def test_rooms_list_and_detail_in_one_read(server, http):
    names = ["a1", "b2", "c3", "d4"]
    sessions = [await register(http, server, n) for n in names]
    users = [(await http.get(server.url + "/v1/info", headers=auth(s))).json for s in sessions]
    a, b, c, d = users
    made = []
    for others in ([b], [b, c], [d]):
        r = await http.post(server.url + "/v1/rooms", json_body={"users": others}, headers=auth(sessions[0]))
        assert r.code == 200
        made.append(r.json)

    r = await http.get(server.url + "/v1/rooms", headers=auth(sessions[0]))
    assert r.code == 200
    # newest first, each with every member (the caller included), ordered by id
    assert [x["id"] for x in r.json] == sorted((m["id"] for m in made), reverse=True)
    by_id = {x["id"]: x["users"] for x in r.json}
    for room, others in zip(made, ([b], [b, c], [d])):
        assert by_id[room["id"]] == sorted([a] + others, key=lambda u: u["id"])

    # another member sees only their rooms; a user in none sees []
    r = await http.get(server.url + "/v1/rooms", headers=auth(sessions[2]))
    assert [x["id"] for x in r.json] == [made[1]["id"]]
    assert r.json[0]["users"] == sorted([a, b, c], key=lambda u: u["id"])

    store = server.services.chat_store
    chat, members = await store.member_chat_with_members(made[1]["id"], c["id"])
    assert chat.id == made[1]["id"] and [m["id"] for m in members] == sorted(u["id"] for u in (a, b, c))
    assert await store.member_chat_with_members(made[1]["id"], d["id"]) == (None, [])
    assert await store.chats_of_with_members(d["id"], "lobby") == []

    r = await http.get(server.url + f"/v1/rooms/{made[2]['id']}", headers=auth(sessions[3]))
    assert r.code == 200 and r.json == {"id": made[2]["id"], "users": sorted([a, d], key=lambda u: u["id"])}
    r = await http.get(server.url + f"/v1/rooms/{made[2]['id']}", headers=auth(sessions[1]))
    assert (r.code, r.json) == (422, {"error": {"code": "room_not_found"}})
    r = await http.get(server.url + "/v1/rooms", headers={"X-Session-Id": "nope"})
    assert r.code == 401

    # counted at the database: the credentials are cached by now, so the list and a detail are
    # one statement each, however many rooms and members
    statements: list[str] = []
    server.db.add_statement_observer(statements.append)
    r = await http.get(server.url + "/v1/rooms", headers=auth(sessions[0]))
    assert r.code == 200 and len(r.json) == 3
    assert len(statements) == 1, statements
    del statements[:]
    r = await http.get(server.url + f"/v1/rooms/{made[1]['id']}", headers=auth(sessions[0]))
    assert r.code == 200
    assert len(statements) == 2, statements  # one transaction: the room if a member, its members

"""The social door's chats: made on approval, lists, histories, the WebSocket, members only."""

from __future__ import annotations

import pytest
import pytest_twisted

from tests.clients.base import HandshakeRefused
from tests.clients.social import approve, auth, create_meeting, login


@pytest_twisted.ensureDeferred
async def test_group_chat_made_on_approval_with_two_sockets(server, http, ws):
    owner, owner_id = await login(http, server, 1, first_name="Owner")
    a, a_id = await login(http, server, 2, first_name="A")
    b, b_id = await login(http, server, 3, first_name="B")
    outsider, _ = await login(http, server, 4)
    m = (await create_meeting(http, server, owner, title="Party", group_type=1)).json

    # no chat before an approval; a pending request gives none
    await http.post(server.url + f"/meeting-confirm/{m['id']}/", headers=auth(b))
    assert (await http.get(server.url + "/chats-list/", headers=auth(owner))).json == []
    await approve(http, server, owner, m["id"], a)

    chats = (await http.get(server.url + "/chats-list/", headers=auth(a))).json
    assert len(chats) == 1
    chat = chats[0]
    assert list(chat) == ["id", "title", "owner", "users", "channel_slug", "last_message", "unread"]
    assert chat["title"] == "Party" and chat["owner"]["id"] == owner_id
    assert [u["id"] for u in chat["users"]] == [a_id]
    # no message yet: an object of empty values by the owner, never null (the LetsGo app reads it)
    assert chat["last_message"] == {"text": "", "author": chat["owner"], "is_read": False, "is_received": False}
    slug = chat["channel_slug"]
    assert len(slug) == 20
    assert (await http.get(server.url + "/chats-list/", headers=auth(owner))).json == chats
    for who in (b, outsider):
        assert (await http.get(server.url + "/chats-list/", headers=auth(who))).json == []

    url = f"{server.ws_url}/chat/{slug}/"
    sock_owner = await ws(f"{url}?token={owner}")
    sock_a = await ws(f"{url}?token={a}")
    sock_a.send_text("Привет")
    # relayed as sent to every member socket, the sender's included
    assert await sock_owner.next_text() == "Привет"
    assert await sock_a.next_text() == "Привет"
    # stored before delivery: the history already has what a socket received
    sock_owner.send_text('{"text": "json stays as sent"}')
    assert await sock_a.next_text() == '{"text": "json stays as sent"}'
    history = (await http.get(server.url + f"/message-list/{chat['id']}/", headers=auth(a))).json
    assert [(x["text"], x["author"]["id"]) for x in history] == [
        ("Привет", a_id), ('{"text": "json stays as sent"}', owner_id)]
    assert await sock_owner.next_text() == '{"text": "json stays as sent"}'

    # a second approval joins the same group chat, and the new member's socket hears it
    await approve(http, server, owner, m["id"], b, ask=False)
    chats = (await http.get(server.url + "/chats-list/", headers=auth(b))).json
    assert [c["id"] for c in chats] == [chat["id"]]
    assert sorted(u["id"] for u in chats[0]["users"]) == sorted([a_id, b_id])
    assert chats[0]["last_message"]["text"] == '{"text": "json stays as sent"}'
    assert chats[0]["last_message"]["author"]["id"] == owner_id
    # the empty one had a real message's keys (less the read-only id and date_create), same types
    real = chats[0]["last_message"]
    assert set(real) == set(chat["last_message"]) | {"id", "date_create"}
    assert all(type(real[k]) is type(v) for k, v in chat["last_message"].items())
    sock_b = await ws(f"{url}?token={b}")
    sock_b.send_text("I am in")
    for s in (sock_owner, sock_a, sock_b):
        assert await s.next_text() == "I am in"
    assert sock_owner.pending() == sock_a.pending() == sock_b.pending() == 0

    history = (await http.get(server.url + f"/message-list/{chat['id']}/", headers=auth(b))).json
    assert [x["text"] for x in history] == ["Привет", '{"text": "json stays as sent"}', "I am in"]
    assert set(history[0]) == {"id", "text", "author", "is_read", "is_received", "date_create"}

    # the outsider sees nothing: no history, no socket
    r = await http.get(server.url + f"/message-list/{chat['id']}/", headers=auth(outsider))
    assert (r.code, r.json) == (200, {"status": 400, "msg": "you can not see this chat", "data": None})
    for path in ("/message-list/999/", "/message-list/99999999999/"):
        r = await http.get(server.url + path, headers=auth(a))
        assert r.json == {"status": 404, "msg": "chat does not exist", "data": None}
    for target, status in ((f"{url}?token={outsider}", 403), (url, 400), (f"{url}?token={'0' * 40}", 401),
                           (f"{server.ws_url}/chat/nosuchslug/?token={a}", 403)):
        with pytest.raises(HandshakeRefused) as refused:
            await ws(target)
        assert refused.value.status == status, (target, refused.value.reason)
    # nothing the refused sockets did reached the members
    assert sock_a.pending() == 0


@pytest_twisted.ensureDeferred
async def test_one_to_one_meeting_gives_a_chat_per_approved_user(server, http, ws):
    owner, owner_id = await login(http, server, 1)
    a, a_id = await login(http, server, 2)
    b, b_id = await login(http, server, 3)
    m = (await create_meeting(http, server, owner, title="Coffee", group_type=0)).json
    await approve(http, server, owner, m["id"], a)
    await approve(http, server, owner, m["id"], b)
    owner_chats = (await http.get(server.url + "/chats-list/", headers=auth(owner))).json
    assert len(owner_chats) == 2 and owner_chats[0]["id"] > owner_chats[1]["id"]  # newest first
    a_chats = (await http.get(server.url + "/chats-list/", headers=auth(a))).json
    b_chats = (await http.get(server.url + "/chats-list/", headers=auth(b))).json
    assert len(a_chats) == len(b_chats) == 1 and a_chats[0]["id"] != b_chats[0]["id"]
    assert [u["id"] for u in a_chats[0]["users"]] == [a_id]

    # a's chat with the owner is not b's: b is refused, and hears nothing of it
    sock_a = await ws(f"{server.ws_url}/chat/{a_chats[0]['channel_slug']}/?token={a}")
    sock_b = await ws(f"{server.ws_url}/chat/{b_chats[0]['channel_slug']}/?token={b}")
    with pytest.raises(HandshakeRefused):
        await ws(f"{server.ws_url}/chat/{a_chats[0]['channel_slug']}/?token={b}")
    sock_a.send_text("private")
    assert await sock_a.next_text() == "private"
    r = await http.get(server.url + f"/message-list/{a_chats[0]['id']}/", headers=auth(b))
    assert r.json["status"] == 400
    r = await http.get(server.url + f"/message-list/{a_chats[0]['id']}/", headers=auth(owner))
    assert [x["text"] for x in r.json] == ["private"]
    assert sock_b.pending() == 0


@pytest_twisted.ensureDeferred
async def test_rooms_chats_are_not_social_chats(server, http):
    # a rooms chat is not reachable through the social door, even for its members
    token, uid = await login(http, server, 1)
    chat_id = await server.services.chat_store.create("room", [uid], server.services.clock.seconds(),
                                                      slug="roomslug", member_key="k")
    r = await http.get(server.url + f"/message-list/{chat_id}/", headers=auth(token))
    assert r.json["status"] == 404
    assert (await http.get(server.url + "/chats-list/", headers=auth(token))).json == []

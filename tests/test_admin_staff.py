"""The staff pages' user page and actions, lists and views, through the real port: every door's
accounts seen from /admin/, and each action doing what it says at the doors (a token of every
door answers 401 after "end all sessions", a deactivated account signs in nowhere...)."""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

import pytest
import pytest_twisted

from meetsrv.admin import issue_login_link
from tests.clients import directory, phone
from tests.clients.base import (
    NoRedirects,
    http,  # noqa: F401  (no shared cookie jar)
)
from tests.clients.campus import User as CampusUser
from tests.clients.images import png
from tests.clients.staff import FORM, STAFF, cookie_of, csrf_of, setup_data, staff_login
from tests.support.backends import REDIS


async def staff_session(http, server):
    """(client without redirects, cookie headers, CSRF value, staff id) of a signed-in staff member."""
    staff_id = await server.services.directory_accounts.ensure_staff(*STAFF)
    client = NoRedirects(http)
    r = await client.get(server.url + await issue_login_link(server.services, staff_id, "/admin/"))
    headers = {"Cookie": cookie_of(r)}
    page = await client.get(server.url + "/admin/", headers=headers)
    return client, headers, csrf_of(page.body.decode()), staff_id


async def act(client, server, headers, csrf, user_id, action, **fields):
    body = urlencode({"csrf": csrf, **fields}).encode() if csrf is not None else urlencode(fields).encode()
    return await client.post(server.url + f"/admin/users/{user_id}/{action}", data=body, headers={**headers, **FORM})


class Everyone:
    """One account of each door, with its credentials and a way to ask the door "who am I?"."""

    async def make(self, http, server):
        self.http, self.server = http, server
        url = server.url
        r = await http.post(url + "/v1/register", json_body={"login": "roomer", "password": "room-pass"})
        self.rooms_session = r.json["session_id"]
        self.rooms_id = (await http.get(url + "/v1/info", headers={"X-Session-Id": self.rooms_session})).json["id"]

        self.campus = await CampusUser(http, server, "campuser").signup("campus-pass")

        r = await http.post(url + "/api-token-auth/", json_body={
            "social_slug": "vk", "external_id": 777001, "token": "tok777001", "first_name": "Soc"})
        self.social_token = r.json["token"]
        self.social_id = int(r.json["href"].rstrip("/").rsplit("/", 1)[1])

        self.phone_id, self.phone_token = await phone.sign_up(http, server, phone.PHONES[0], name="Phony")

        user = await directory.sign_up(http, server, "dir@example.com")
        self.directory_id = user["id"]
        self.pair = await directory.sign_in(http, server, "dir@example.com")
        return self

    # each answers the door's status code (campus: True when the session is signed in)
    async def rooms_ok(self):
        return (await self.http.get(self.server.url + "/v1/info", headers={"X-Session-Id": self.rooms_session})).code

    async def campus_ok(self):
        me = await self.campus.get("/api/auth/GetCurrentUserId")
        return me["response"]["user_id"] == self.campus.id

    async def social_ok(self):
        return (await self.http.get(self.server.url + "/user-detail/",
                                    headers={"Authorization": f"Token {self.social_token}"})).code

    async def phone_ok(self):
        return (await self.http.get(self.server.url + "/api/account/", headers=phone.auth(self.phone_token))).code

    async def directory_ok(self, access=None):
        return (await self.http.get(self.server.url + "/api/organizations/",
                                    headers=directory.auth(access or self.pair["access"]))).code

    async def refresh(self):
        return await self.http.post(self.server.url + "/api/user/refresh/", json_body={"refresh": self.pair["refresh"]})


@pytest_twisted.ensureDeferred
async def test_users_list_door_column_and_user_page(start_server, http, clock):
    server = await start_server(clock=clock)
    e = await Everyone().make(http, server)
    client, headers, csrf, staff_id = await staff_session(http, server)
    url = server.url

    page = (await client.get(url + "/admin/users?sort=id", headers=headers)).body.decode()
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td>", page)
    doors = {int(uid): door for uid, door in rows}
    assert doors[e.rooms_id] == "rooms" and doors[e.campus.id] == "campus" and doors[e.social_id] == "social"
    assert doors[e.phone_id] == "phone" and doors[e.directory_id] == "directory"
    assert doors[staff_id] == "directory"  # made by the command: read from what it has (an email)
    # the door filter
    page = (await client.get(url + "/admin/users?door=phone", headers=headers)).body.decode()
    assert "Phony" in page and "roomer" not in page and "1 found" in page

    # the phone user's page: identity, a credential counted (never shown), no meeting yet
    page = (await client.get(url + f"/admin/users/{e.phone_id}", headers=headers)).body.decode()
    assert "phone number (SMS code)" in page and phone.PHONES[0] in page
    assert "phone door token</td><td>1</td>" in page
    assert e.phone_token not in page
    # the directory user's refresh token, the social identity, rooms and campus usernames
    page = (await client.get(url + f"/admin/users/{e.directory_id}", headers=headers)).body.decode()
    assert "email and password" in page and "directory door refresh token</td><td>1</td>" in page
    assert e.pair["refresh"] not in page and e.pair["access"] not in page
    page = (await client.get(url + f"/admin/users/{e.social_id}", headers=headers)).body.decode()
    assert "vk account" in page and "777001" in page and "social door token</td><td>1</td>" in page
    page = (await client.get(url + f"/admin/users/{e.rooms_id}", headers=headers)).body.decode()
    assert "<td>rooms</td><td>username and password</td><td>roomer</td>" in page
    page = (await client.get(url + f"/admin/users/{e.campus.id}", headers=headers)).body.decode()
    assert "<td>campus</td><td>username and password</td><td>campuser</td>" in page
    assert "campus door session</td><td>1</td>" in page

    # meetings and chats of a user: a phone meeting with a chat-less member, a rooms chat
    other_id, other_token = await phone.sign_up(http, server, phone.PHONES[1], name="Other")
    r = await http.post(url + "/api/meetings/", headers=phone.auth(e.phone_token),
                        data=[("title", "Picnic <b>"), ("users", str(other_id))],
                        files={"logo": ("l.png", "image/png", io.BytesIO(png(4, 4)))})
    assert r.code == 201, r
    meeting_id = r.json["id"]
    r = await http.post(url + "/v1/register", json_body={"login": "second", "password": "pw"})
    second = r.json["session_id"]
    second_user = (await http.get(url + "/v1/info", headers={"X-Session-Id": second})).json
    r = await http.post(url + "/v1/rooms", json_body={"users": [second_user]}, headers={"X-Session-Id": e.rooms_session})
    room_id = r.json["id"]
    page = (await client.get(url + f"/admin/users/{e.phone_id}", headers=headers)).body.decode()
    assert f'href="/admin/events/{meeting_id}"' in page and "Picnic &lt;b&gt;" in page and "creator, king" in page
    page = (await client.get(url + f"/admin/users/{other_id}", headers=headers)).body.decode()
    assert "Picnic &lt;b&gt;" in page and "<td>member</td>" in page
    page = (await client.get(url + f"/admin/users/{e.rooms_id}", headers=headers)).body.decode()
    assert f'href="/admin/chats/{room_id}"' in page

    for missing in ("/admin/users/999999", "/admin/users/x", "/admin/users/1/2"):
        assert (await client.get(url + missing, headers=headers)).code == 404


@pytest_twisted.ensureDeferred
async def test_end_all_sessions_logs_out_every_door(start_server, http, ws, clock):
    server = await start_server(clock=clock)
    e = await Everyone().make(http, server)
    client, headers, csrf, _ = await staff_session(http, server)
    assert await e.rooms_ok() == 200 and await e.campus_ok() and await e.social_ok() == 200
    assert await e.phone_ok() == 200 and await e.directory_ok() == 200
    # an open chat socket of the user, and one of somebody else
    theirs = await ws(server.ws_url + "/ws/chat/", headers={"authorization": e.pair["access"]})
    _, other_access = await directory.member(http, server, "other@example.com")
    others = await ws(server.ws_url + "/ws/chat/", headers={"authorization": other_access})

    for user_id in (e.rooms_id, e.campus.id, e.social_id, e.phone_id, e.directory_id):
        r = await act(client, server, headers, csrf, user_id, "end-sessions")
        assert r.code == 303 and r.header("location") == f"/admin/users/{user_id}?done=end-sessions"
    assert await e.rooms_ok() == 401
    assert not await e.campus_ok()
    assert await e.social_ok() == 401
    assert await e.phone_ok() == 401
    # the JWT access token is not stored, yet it is refused; so is the refresh token
    assert await e.directory_ok() == 401
    assert (await e.refresh()).code == 401
    # the user's socket closes (4001, a revoked credential's); the other one stays open
    assert await theirs.wait_closed() == 4001
    others.send_json({"message": "still here"})
    assert (await others.next_json())["message"] == "still here"

    page = (await client.get(server.url + f"/admin/users/{e.directory_id}?done=end-sessions",
                             headers=headers)).body.decode()
    assert "No session or credential." in page and "Every session and credential of the account has ended." in page
    assert "ended all sessions of" in page and "1 refresh" in page  # the log, with what was held

    # the accounts are not locked: signing in again works (a second later: the JWT's iat is in
    # whole seconds, and one issued in the second of the ending counts as ended)
    clock.advance(1)
    pair = await directory.sign_in(http, server, "dir@example.com")
    assert await e.directory_ok(pair["access"]) == 200
    r = await http.post(server.url + "/v1/login", json_body={"login": "roomer", "password": "room-pass"})
    assert r.code == 200
    _, token = await phone.sign_in(http, server, phone.PHONES[0])
    assert (await http.get(server.url + "/api/account/", headers=phone.auth(token))).code == 200

    log = (await client.get(server.url + "/admin/log", headers=headers)).body.decode()
    assert log.count("ended all sessions of") == 5 and "boss@example.com" in log


@pytest_twisted.ensureDeferred
async def test_deactivate_and_reactivate(start_server, http, clock):
    server = await start_server(clock=clock)
    e = await Everyone().make(http, server)
    client, headers, csrf, staff_id = await staff_session(http, server)
    url = server.url
    for user_id in (e.rooms_id, e.campus.id, e.social_id, e.phone_id, e.directory_id):
        r = await act(client, server, headers, csrf, user_id, "deactivate")
        assert r.code == 303 and r.header("location") == f"/admin/users/{user_id}?done=deactivate"

    # every credential ended...
    assert await e.rooms_ok() == 401 and not await e.campus_ok() and await e.social_ok() == 401
    assert await e.phone_ok() == 401 and await e.directory_ok() == 401 and (await e.refresh()).code == 401
    clock.advance(5)
    # ...and no door signs them in again
    r = await http.post(url + "/v1/login", json_body={"login": "roomer", "password": "room-pass"})
    assert (r.code, r.json) == (422, {"error": {"code": "wrong_credentials"}})
    r = await http.post(url + "/accounts/login/", json_body={"username": "campuser", "password": "campus-pass"})
    assert r.json["error"] != 0 and "sessionid" not in str(r.headers.getRawHeaders("set-cookie"))
    r = await http.post(url + "/api/user/sign-in/", json_body={"email": "dir@example.com",
                                                               "password": directory.PASSWORD})
    assert r.code == 401
    r = await http.post(url + "/api-token-auth/", json_body={
        "social_slug": "vk", "external_id": 777001, "token": "tok777001", "first_name": "Soc"})
    assert r.code == 403
    code = await phone.send_code(http, server, phone.PHONES[0])
    r = await http.post(url + "/api/auth/users/", json_body={"phone": phone.PHONES[0], "code": code})
    assert r.code == 403
    users = (await client.get(url + "/admin/users?active=no", headers=headers)).body.decode()
    assert "5 found" in users
    # a deactivated staff member's pages close too; nobody can deactivate themselves
    r = await act(client, server, headers, csrf, staff_id, "deactivate")
    assert r.code == 403 and "your own account" in r.body.decode()

    # reactivated: signing in works again at every door
    for user_id in (e.rooms_id, e.campus.id, e.social_id, e.phone_id, e.directory_id):
        r = await act(client, server, headers, csrf, user_id, "reactivate")
        assert r.code == 303
    clock.advance(1)
    r = await http.post(url + "/v1/login", json_body={"login": "roomer", "password": "room-pass"})
    assert r.code == 200
    pair = await directory.sign_in(http, server, "dir@example.com")
    assert await e.directory_ok(pair["access"]) == 200
    r = await http.post(url + "/api-token-auth/", json_body={
        "social_slug": "vk", "external_id": 777001, "token": "tok777001", "first_name": "Soc"})
    assert r.code == 200
    _, token = await phone.sign_in(http, server, phone.PHONES[0])
    assert (await http.get(url + "/api/account/", headers=phone.auth(token))).code == 200
    log = (await client.get(url + "/admin/log", headers=headers)).body.decode()
    assert log.count(">deactivated<") == 5 and log.count(">reactivated<") == 5


@pytest_twisted.ensureDeferred
async def test_rename_staff_and_delete(start_server, http, clock):
    server = await start_server(clock=clock)
    url = server.url
    client, headers, csrf, staff_id = await staff_session(http, server)
    ann = await directory.sign_up(http, server, "ann@example.com")
    pid, ptoken = await phone.sign_up(http, server, phone.PHONES[2], name="To delete")

    # rename: escaped on the pages, searchable by the new name, logged with old and new
    r = await act(client, server, headers, csrf, ann["id"], "name", name="Anna <i>K</i>")
    assert r.code == 303 and r.header("location") == f"/admin/users/{ann['id']}?done=name"
    page = (await client.get(url + r.header("location"), headers=headers)).body.decode()
    assert "Anna &lt;i&gt;K&lt;/i&gt;" in page and "<i>K</i>" not in page
    assert "The display name was changed." in page and "ann → Anna &lt;i&gt;K&lt;/i&gt;" in page
    assert "ann@example.com" in (await client.get(url + "/admin/users?q=anna", headers=headers)).body.decode()
    for bad in ("", "   ", "x" * 256):
        r = await act(client, server, headers, csrf, ann["id"], "name", name=bad)
        assert r.code == 400, bad
    # the rule of the account's door: a social account's name has at most 30 characters
    soc = await server.services.social_login.login("vk", "4242", "tok4242", "Vasya")
    r = await act(client, server, headers, csrf, soc[0], "name", name="y" * 31)
    assert r.code == 400 and "at most 30 characters" in r.body.decode()
    assert (await act(client, server, headers, csrf, soc[0], "name", name="y" * 30)).code == 303
    assert (await server.services.accounts.get(ann["id"])).name == "Anna <i>K</i>"

    # make staff: she signs in at /admin/ with her directory email and password; remove: she cannot
    assert (await staff_login(http, server, "ann@example.com", directory.PASSWORD)).code == 401
    r = await act(client, server, headers, csrf, ann["id"], "make-staff")
    assert r.code == 303
    r = await staff_login(http, server, "ann@example.com", directory.PASSWORD)
    assert r.code == 303
    ann_cookie = {"Cookie": cookie_of(r)}
    assert (await client.get(url + "/admin/users", headers=ann_cookie)).code == 200
    r = await act(client, server, headers, csrf, ann["id"], "remove-staff")
    assert r.code == 303
    assert (await client.get(url + "/admin/users", headers=ann_cookie)).code == 302  # her session is over
    r = await act(client, server, headers, csrf, staff_id, "remove-staff")
    assert r.code == 403
    assert (await server.services.accounts.get(staff_id)).is_staff

    # delete: needs the box ticked; the token dies with the account; not oneself
    r = await act(client, server, headers, csrf, pid, "delete")
    assert r.code == 400 and (await server.services.accounts.get(pid)) is not None
    r = await act(client, server, headers, csrf, pid, "delete", confirm="yes")
    assert r.code == 303 and r.header("location") == "/admin/users?done=delete"
    assert await server.services.accounts.get(pid) is None
    assert (await http.get(url + "/api/account/", headers=phone.auth(ptoken))).code == 401
    assert (await client.get(url + f"/admin/users/{pid}", headers=headers)).code == 404
    assert (await act(client, server, headers, csrf, pid, "end-sessions")).code == 404
    r = await act(client, server, headers, csrf, staff_id, "delete", confirm="yes")
    assert r.code == 403

    # the log keeps the deleted account's name and id
    log = (await client.get(url + "/admin/log", headers=headers)).body.decode()
    assert "To delete &lt;" + phone.PHONES[2] + "&gt;" in log and f'href="/admin/users/{pid}"' in log
    for verb in ("changed the display name of", "made staff", "removed staff from", "deleted"):
        assert verb in log, verb


@pytest_twisted.ensureDeferred
async def test_actions_need_the_csrf_value_and_post(start_server, http, clock):
    server = await start_server(clock=clock)
    client, headers, csrf, _ = await staff_session(http, server)
    uid, token = await phone.sign_up(http, server, phone.PHONES[3], name="Kept")
    for bad in (None, "", "0" * 32, csrf[:-1]):
        for action in ("deactivate", "end-sessions", "delete", "make-staff"):
            r = await act(client, server, headers, bad, uid, action, confirm="yes")
            assert r.code == 403, (bad, action)
    # a GET on an action URL does nothing; an unknown action is 404; signed out: to the sign-in page
    assert (await client.get(server.url + f"/admin/users/{uid}/deactivate", headers=headers)).code == 404
    assert (await act(client, server, headers, csrf, uid, "explode")).code == 404
    r = await act(client, server, {}, csrf, uid, "deactivate")
    assert r.code == 303 and r.header("location").startswith("/admin/login?next=")
    user = await server.services.accounts.get(uid)
    assert user.active and not user.is_staff
    assert (await http.get(server.url + "/api/account/", headers=phone.auth(token))).code == 200
    assert "Nothing found." in (await client.get(server.url + "/admin/log", headers=headers)).body.decode()


@pytest_twisted.ensureDeferred
async def test_lists_sort_in_natural_order(start_server, http, clock):
    server = await start_server(clock=clock)
    client, headers, _, _ = await staff_session(http, server)
    _, token = await directory.member(http, server, "org@example.com")
    for title in ("Org 10", "org 3", "Org 2", "Org 1", "Beta"):
        r = await http.post(server.url + "/api/organizations/create/", headers=directory.auth(token),
                            json_body={"title": title})
        assert r.code == 201, r

    async def titles(query):
        page = (await client.get(server.url + "/admin/organizations" + query, headers=headers)).body.decode()
        return re.findall(r'<a href="/admin/organizations/\d+">([^<]+)</a>', page), page

    order, page = await titles("")
    assert order == ["Beta", "Org 1", "Org 2", "org 3", "Org 10"]  # by title by default
    assert 'href="/admin/organizations?sort=-title"' in page  # the header link turns it around
    assert (await titles("?sort=-title"))[0] == ["Org 10", "org 3", "Org 2", "Org 1", "Beta"]
    assert (await titles("?sort=id"))[0] == ["Org 10", "org 3", "Org 2", "Org 1", "Beta"]
    assert (await titles("?sort=nonsense"))[0] == ["Beta", "Org 1", "Org 2", "org 3", "Org 10"]
    assert (await titles("?sort=title&q=org"))[0] == ["Org 1", "Org 2", "org 3", "Org 10"]

    # users by name, the same way
    for i in (10, 9, 100):
        await phone.sign_up(http, server, phone.PHONES[i % 10 if i != 100 else 5], name=f"User {i}")
    page = (await client.get(server.url + "/admin/users?sort=name&door=phone", headers=headers)).body.decode()
    assert re.findall(r'>(User \d+)</a>', page) == ["User 9", "User 10", "User 100"]
    page = (await client.get(server.url + "/admin/users?sort=-name&door=phone", headers=headers)).body.decode()
    assert re.findall(r'>(User \d+)</a>', page) == ["User 100", "User 10", "User 9"]

    # every sortable column of every list, both ways, answers (empty lists run their query too)
    columns = {"users": ("id", "door", "name", "email", "phone", "staff", "active", "created"),
               "organizations": ("id", "title", "address", "members", "events"),
               "events": ("id", "door", "title", "date", "creator", "members"),
               "chats": ("id", "door", "title", "members", "messages", "last"),
               "log": ("created", "staff", "action", "target")}
    for path, keys in columns.items():
        for key in keys:
            for sort in (key, "-" + key):
                r = await client.get(server.url + f"/admin/{path}?sort={sort}", headers=headers)
                assert r.code == 200 and " found · page 1" in r.body.decode(), (path, sort)


@pytest_twisted.ensureDeferred
async def test_meetings_and_chats_views(start_server, http, clock):
    from tests.clients.campus import create_event as campus_event

    server = await start_server(clock=clock)
    client, headers, _, _ = await staff_session(http, server)
    url = server.url
    club, (blitz, jazz) = await setup_data(http, server, clock)  # directory events with organizations
    campus = await CampusUser(http, server, "eventer").signup()
    start = 1930471200  # 2031-03-05 10:00 UTC
    campus_id = await campus_event(campus, "Lecture <hr>", start, start + 7200)

    page = (await client.get(url + "/admin/events?sort=date", headers=headers)).body.decode()
    titles = re.findall(r'<a href="/admin/events/\d+">([^<]+)</a>', page)
    assert titles == ["Blitz &lt;script&gt;alert(1)&lt;/script&gt;", "Lecture &lt;hr&gt;", "Jazz"]
    page = (await client.get(url + "/admin/events?door=campus", headers=headers)).body.decode()
    assert "Lecture &lt;hr&gt;" in page and "Jazz" not in page
    # a campus event (starts_at) and a directory event (date) filter by day alike
    page = (await client.get(url + "/admin/events?date__gte=2031-03-05&date__lte=2031-03-05", headers=headers)).body
    assert b"Lecture" in page and b"Jazz" not in page and b"Blitz" not in page

    rows = await server.services.staff.meetings_page(kind="campus")
    lecture = rows[1][0]
    page = (await client.get(url + f"/admin/events/{lecture['id']}", headers=headers)).body.decode()
    assert "<dd>campus</dd>" in page and f'href="/admin/users/{campus.id}"' in page
    assert "No image." in page and campus_id

    # chats: the directory lobby with messages, escaped, newest first, paged
    ann = await server.services.directory_account_store.by_email("ann@example.com")
    lobby_id = await server.services.lobby.chat_id()
    for i in range(105):
        await server.services.chats.post(lobby_id, ann.id, f"hello <b>{i}</b>")
    lobby = await server.services.lobby.chat_id()
    page = (await client.get(url + "/admin/chats", headers=headers)).body.decode()
    assert f'href="/admin/chats/{lobby}">Directory lobby</a>' in page and "<td>105</td>" in page
    page = (await client.get(url + f"/admin/chats/{lobby}", headers=headers)).body.decode()
    assert page.index("hello &lt;b&gt;104&lt;/b&gt;") < page.index("hello &lt;b&gt;5&lt;/b&gt;")
    assert "hello &lt;b&gt;4&lt;/b&gt;" not in page and f'href="/admin/users/{ann.id}"' in page
    older = re.search(r'href="(/admin/chats/\d+\?before=\d+)"', page).group(1)
    page = (await client.get(url + older, headers=headers)).body.decode()
    assert "hello &lt;b&gt;4&lt;/b&gt;" in page and "hello &lt;b&gt;0&lt;/b&gt;" in page and "older" not in page
    # with rows in them, every sortable column of these lists, both ways
    for path, keys in {"events": ("id", "door", "title", "date", "creator", "members"),
                       "chats": ("id", "door", "title", "members", "messages", "last"),
                       "organizations": ("id", "title", "address", "members", "events")}.items():
        for sort in [k for key in keys for k in (key, "-" + key)]:
            r = await client.get(url + f"/admin/{path}?sort={sort}", headers=headers)
            assert r.code == 200 and "<tbody>" in r.body.decode(), (path, sort)
    for missing in ("/admin/chats/999999", "/admin/events/999999", "/admin/organizations/999999"):
        assert (await client.get(url + missing, headers=headers)).code == 404

    page = (await client.get(url + f"/admin/organizations/{club['id']}", headers=headers)).body.decode()
    assert f'href="/admin/events/{blitz["id"]}"' in page and "ann@example.com" in page


@pytest.mark.skipif(not REDIS, reason="two processes share credential revocations only through Redis")
@pytest_twisted.ensureDeferred
async def test_end_sessions_reaches_every_process(start_server, http, ws):
    one = await start_server()
    two = await start_server()
    uid, token = await phone.sign_up(http, one, phone.PHONES[4], name="Two")
    _, access = await directory.member(http, one, "jwt@example.com")
    jwt_user = await one.services.directory_account_store.by_email("jwt@example.com")
    # process two has both credentials in hand (the token in its cache)
    assert (await http.get(two.url + "/api/account/", headers=phone.auth(token))).code == 200
    assert (await http.get(two.url + "/api/organizations/", headers=directory.auth(access))).code == 200
    sock = await ws(two.ws_url + "/ws/chat/", headers={"authorization": access})
    client, headers, csrf, _ = await staff_session(http, one)
    assert (await act(client, one, headers, csrf, uid, "end-sessions")).code == 303
    assert (await act(client, one, headers, csrf, jwt_user.id, "deactivate")).code == 303
    assert (await http.get(two.url + "/api/account/", headers=phone.auth(token))).code == 401
    assert (await http.get(two.url + "/api/organizations/", headers=directory.auth(access))).code == 401
    assert await sock.wait_closed() == 4001  # process two closed the deactivated user's socket
    # a process started after the ending refuses the access token too (it reads the recent endings)
    three = await start_server()
    assert (await http.get(three.url + "/api/organizations/", headers=directory.auth(access))).code == 401

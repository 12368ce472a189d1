"""Property-based fuzzing of every door, the staff pages, /media and every WebSocket, through a
real port against a running server.

Each door gets a real user, signed up through the door, and objects to point its path variables
at; Hypothesis (fixed seed, bounded examples) then sends hostile requests (tests/support/hostile.py) to
the door's endpoints. The properties, for every request or frame:

- no answer is a 5xx, no handshake is refused with one, no socket is closed with 4500 (or 1011);
- nothing is logged as a failure (an unexpected exception the door swallowed into an answer,
  such as campus's `error: -1`, is still a defect);
- a refused request changes nothing: every table's rows are the same before and after (for a
  refused frame, every table's row count moves only by the sentinel frame sent after it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest_twisted
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetsrv.config import OAuthApp
from meetsrv.store.tables import metadata
from tests.clients.base import (
    HandshakeRefused,
    Response,
    http,  # noqa: F401  (no shared cookie jar)
    parse_responses,
)
from tests.support import hostile

FUZZ = settings(
    derandomize=True,  # the same examples on every run (a seed derived from the test)
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FUZZ_SOCKETS = settings(FUZZ, max_examples=100)

TIMEOUT = 10.0
TABLES = [table.name for table in metadata.sorted_tables]
PG_SNAPSHOT = " UNION ALL ".join(
    f"""SELECT '{name}', COUNT(*), md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM "{name}" t"""
    for name in TABLES)


# -- what the fuzz sees of the server ----------------------------------------------------------

class Probe:
    """Raw requests to the server's port, its logged failures, and its database's rows."""

    def __init__(self, server):
        from twisted.logger import globalLogPublisher

        self.server = server
        self.port = server.port.getHost().port
        self.failures: list[str] = []
        self._publisher = globalLogPublisher
        globalLogPublisher.addObserver(self._observe)
        self.rows = None

    def _observe(self, event):
        from twisted.logger import LogLevel, formatEvent

        failure = event.get("log_failure")
        if failure is not None or event.get("log_level") in (LogLevel.error, LogLevel.critical):
            text = formatEvent(event)
            if failure is not None:
                text += "\n" + failure.getTraceback()
            self.failures.append(text)

    def close(self):
        self._publisher.removeObserver(self._observe)

    def take_failures(self) -> list[str]:
        out, self.failures = self.failures, []
        return out

    async def snapshot(self) -> dict:
        """{table: (row count, digest of its rows)}, read in one transaction (on PostgreSQL in one
        statement: a round trip per table would make the fuzz slow)."""
        db = self.server.db

        def read(t):
            if db.name == "sqlite":
                out = {}
                for name in TABLES:
                    t.cursor.execute(f'SELECT * FROM "{name}"')
                    rows = sorted(map(repr, t.cursor.fetchall()))
                    out[name] = (len(rows), hashlib.sha256("\n".join(rows).encode("utf-8", "surrogatepass")).hexdigest())
                return out
            t.cursor.execute(PG_SNAPSHOT)
            return {name: (count, digest) for name, count, digest in t.cursor.fetchall()}

        return await db.interact("test.fuzz.snapshot", read)

    async def send(self, method: str, target: str, headers: dict, body: bytes = b"") -> Response:
        from twisted.internet import reactor
        from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

        from tests.clients.base import RawExchange

        lines = [f"{method} {target} HTTP/1.1".encode("latin-1"), f"Host: 127.0.0.1:{self.port}".encode()]
        for name, value in headers.items():
            lines.append(name.encode("latin-1") + b": " + (value if isinstance(value, bytes) else value.encode("latin-1")))
        lines += [b"Content-Length: %d" % len(body), b"Connection: close"]
        exchange = RawExchange(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", self.port, timeout=TIMEOUT), exchange.protocol)
        exchange.done.addTimeout(TIMEOUT, reactor)
        answers = parse_responses(await exchange.done)
        assert len(answers) == 1, answers
        return answers[0]


def table_counts(rows: dict) -> dict:
    return {name: count for name, (count, _) in rows.items()}


def json_of(response: Response):
    try:
        return json.loads(response.body)
    except ValueError:
        return None


def refused_by_status(response: Response) -> bool:
    return response.code >= 400


def refused_social(response: Response) -> bool:
    """DRF statuses, or upstream's envelope: HTTP 200 with {"status": 4xx}."""
    body = json_of(response)
    envelope = isinstance(body, dict) and isinstance(body.get("status"), int) and set(body) == {"status", "msg", "data"}
    return response.code >= 400 or (envelope and body["status"] >= 400)


def refused_campus(response: Response) -> bool:
    """Every answer is HTTP 200 with {"error": code}; 0 is success."""
    body = json_of(response)
    return response.code >= 400 or not isinstance(body, dict) or body.get("error") != 0


# -- the doors as the fuzz knows them ----------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {name} marks a path variable
    body: tuple[str, ...] = ()  # the fields the route reads
    query: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    # a body (or, for a GET, a query) the route accepts: sent with one or two values hostile
    example: dict | None = None


@dataclass
class Target:
    """A door with a signed-in user: its endpoints, the user's headers, real path values."""

    name: str
    endpoints: list[Endpoint]
    headers: dict
    path_values: dict
    refused: Callable[[Response], bool]
    hostile_headers: tuple[dict, ...] = ()
    known_fields: dict = field(default_factory=dict)  # sent as they are in half the bodies (CSRF)


BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
IDEMPOTENCY_KEYS = ("k1", "k2", "é²", "a b", "x" * 300, "", "\t")
OTHER_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO")


@st.composite
def requests(draw, target: Target):
    """(method, request target, headers, body): one of the door's endpoints, mostly with its own
    method and the user's credential, path variables real or hostile, query and body hostile."""
    endpoint = draw(st.sampled_from(target.endpoints))
    method = endpoint.method if draw(st.integers(0, 3)) else draw(st.sampled_from(OTHER_METHODS))
    path = endpoint.path
    for name, real in target.path_values.items():
        if "{" + name + "}" in path:
            value = str(real) if draw(st.booleans()) else draw(hostile.path_segments)
            path = path.replace("{" + name + "}", value)
    mutate = endpoint.example is not None and method == endpoint.method and draw(st.integers(0, 2)) > 0
    if mutate and method == "GET":
        query = draw(hostile.mutated_queries(endpoint.example))
    elif endpoint.query or not draw(st.integers(0, 3)):
        query = draw(hostile.query_strings(endpoint.query))
    else:
        query = ""
    if mutate and method != "GET":
        body, content_type = draw(hostile.mutated_bodies(endpoint.example, target.known_fields))
    elif method in BODY_METHODS or not draw(st.integers(0, 9)):
        body, content_type = draw(hostile.bodies(endpoint.body, endpoint.files, target.known_fields))
    else:
        body, content_type = b"", None
    headers = dict(target.headers)
    if target.hostile_headers and not draw(st.integers(0, 9)):
        headers = dict(draw(st.sampled_from(target.hostile_headers)))
    if content_type is not None:
        headers["Content-Type"] = content_type
    if not draw(st.integers(0, 5)):  # the create routes remember answers by this key
        headers["Idempotency-Key"] = draw(st.sampled_from(IDEMPOTENCY_KEYS))
    return method, path + query, headers, body


async def check_request(probe: Probe, target: Target, request) -> None:
    method, target_path, headers, body = request
    before = probe.rows
    response = await probe.send(method, target_path, headers, body)
    probe.rows = after = await probe.snapshot()
    failures = probe.take_failures()
    shown = f"{method} {target_path} {headers} {body[:300]!r} -> {response!r}"
    assert not failures, shown + "\n" + "\n".join(failures)
    assert response.code < 500, shown
    if target.refused(response):
        changed = {name for name in after if after[name] != before.get(name)}
        assert not changed, f"{shown}\nrefused, yet changed: {sorted(changed)}"


# -- signing up through each door --------------------------------------------------------------

async def rooms_target(http, server) -> Target:
    async def register(login):
        r = await http.post(server.url + "/v1/register/", json_body={"login": login, "password": "pw-123456"})
        assert r.code == 200, r
        return r.json["session_id"]

    session = await register("fuzzer")
    other = await register("other")
    other_id = (await http.get(server.url + "/v1/info/", headers={"X-Session-Id": other})).json["id"]
    room = await http.post(server.url + "/v1/rooms/", json_body={"users": [{"id": other_id}]},
                           headers={"X-Session-Id": session})
    assert room.code == 200, room
    E = Endpoint
    return Target("rooms", [
        E("POST", "/v1/register/", ("login", "password"), example={"login": "newcomer", "password": "pw-123456"}),
        E("POST", "/v1/login/", ("login", "password"), example={"login": "other", "password": "pw-123456"}),
        E("GET", "/v1/info/"),
        E("GET", "/v1/users/", query=("q",), example={"q": "oth"}),
        E("GET", "/v1/rooms/"),
        E("POST", "/v1/rooms/", ("users",), example={"users": [{"id": other_id}]}),
        E("GET", "/v1/rooms/{room}/"),
        E("GET", "/v1/rooms/{room}/messages/", query=("before", "after", "limit"), example={"before": "5"}),
        E("GET", "/v1/nowhere/{room}"),
    ], {"X-Session-Id": session}, {"room": room.json["id"]}, refused_by_status,
        ({"X-Session-Id": "²"}, {"X-Session-Id": b"\xff\xfe"}, {}))


async def social_target(http, server) -> Target:
    from tests.clients.images import png
    from tests.clients.social import approve, auth, create_meeting, login

    token, user_id = await login(http, server, 41, first_name="Fuzz")
    other, _ = await login(http, server, 42, first_name="Other")
    meeting = (await create_meeting(http, server, token, title="Fuzz", group_type=1)).json
    confirm_id = await approve(http, server, token, meeting["id"], other)
    chat = (await http.get(server.url + "/chats-list/", headers=auth(token))).json[0]
    photo = await http.put(server.url + "/upload-photo/a.png", data=png(), headers=auth(token))
    photos = (await http.get(server.url + "/user-detail/", headers=auth(token))).json["photos"]
    assert photo.code == 200 and photos, (photo, photos)
    E = Endpoint
    return Target("social", [
        E("POST", "/api-token-auth/", ("social_slug", "external_id", "token", "first_name"),
          example={"social_slug": "vk", "external_id": 77, "token": "t77", "first_name": "Seventy"}),
        E("GET", "/user-detail/"),
        E("GET", "/user-detail/{user}/"),
        E("PUT", "/user-detail/", ("first_name", "firs_name", "about", "birth_date", "gender", "username"),
          example={"first_name": "Fuzz", "about": "about", "birth_date": "1990-01-02", "gender": 1}),
        E("PUT", "/user-detail/{user}/", ("first_name", "about", "birth_date", "gender"),
          example={"firs_name": "Fuzz", "birth_date": "1990-1-2", "gender": "0"}),
        E("PUT", "/upload-photo/{filename}", ("file",), files=("file", "photo")),
        E("PUT", "/set-avatar/{photo}/"),
        E("GET", "/meetings-list/", query=("lat", "lng", "r", "category", "gender", "age_from", "age_to"),
          example={"lat": "55.7", "lng": "37.6", "r": "30", "category": "1", "gender": "0", "age_from": "18",
                   "age_to": "40"}),
        E("POST", "/meetings-list/", ("title", "description", "coordinates", "meeting_date", "group_type",
                                      "category"),
          example={"title": "T", "description": "d", "coordinates": {"lat": 55.7, "lng": 37.6},
                   "meeting_date": "2031-01-01", "group_type": 1, "category": "general"}),
        E("GET", "/meeting-detail/{meeting}/"),
        E("PUT", "/meeting-detail/{meeting}/", ("title", "description", "coordinates", "meeting_date"),
          example={"title": "T2", "description": "d2", "coordinates": '{"lat": 1, "lng": 2}',
                   "meeting_date": "2031-02-03"}),
        E("GET", "/meeting-types/"),
        E("POST", "/meeting-confirm/{meeting}/"),
        E("GET", "/confirms-list/"),
        E("PUT", "/confirm-action/{confirm}/", ("is_approved", "is_rejected", "is_read"),
          example={"is_approved": True, "is_read": "true"}),
        E("GET", "/unread-confirms/"),
        E("GET", "/chats-list/"),
        E("GET", "/message-list/{chat}/"),
        E("DELETE", "/delete-photo/{photo}/"),
    ], auth(token), {"user": user_id, "meeting": meeting["id"], "confirm": confirm_id, "chat": chat["id"],
                     "photo": photos[0]["id"], "filename": "b.png"}, refused_social,
        ({"Authorization": "Token ²"}, {"Authorization": b"Token \xff"}, {"Authorization": "Token"}, {}))


async def campus_target(http, server) -> Target:
    from tests.clients.campus import User, create_event
    from tests.clients.images import jpeg_b64

    user = await User(http, server, "fuzzer").signup()
    other = await User(http, server, "other").signup()
    now = int(server.services.clock.seconds())
    event = await create_event(other, "Fuzz event", now + 3600, now + 7200)
    token = {"Authorization": f"Token {user.cookies['sessionid']}"}
    picture = jpeg_b64()
    E = Endpoint
    return Target("campus", [
        E("POST", "/accounts/signup/", ("username", "password"), example={"username": "newcomer", "password": "pw"}),
        E("POST", "/accounts/login/", ("username", "password"), example={"username": "other", "password": "secret-pw"}),
        E("GET", "/accounts/{provider}/login/", query=("next",), example={"next": "/profile"}),
        E("GET", "/accounts/{provider}/login/callback/", query=("state", "code", "error"),
          example={"state": "s", "code": "c"}),
        E("GET", "/api/auth/GetCurrentUserId"),
        E("GET", "/api/profile/GetProfile", query=("user_id",), example={"user_id": str(other.id)}),
        E("POST", "/api/profile/UpdateProfilePicture", ("image", "name"), files=("image",),
          example={"image": picture, "name": "me.png"}),
        E("POST", "/api/profile/UploadProfileConfirmation", ("image", "name"), files=("image",),
          example={"image": picture}),
        E("POST", "/api/profile/UpdateProfileInfo", ("display_name", "bio"), example={"display_name": "D", "bio": "b"}),
        E("GET", "/api/profile/FindByName", query=("display_name_part",), example={"display_name_part": "oth"}),
        E("GET", "/api/friends/GetFriendList"),
        E("POST", "/api/friends/SendFriendRequest", ("user_id",), example={"user_id": other.id}),
        E("GET", "/api/friends/GetFriendRequests"),
        E("POST", "/api/friends/RemoveFriend", ("user_id",), example={"user_id": other.id}),
        E("POST", "/api/events/CreateEvent", ("name", "time_from", "time_to"),
          example={"name": "New event", "time_from": now + 7200, "time_to": now + 9000}),
        E("GET", "/api/events/GetEventByID", query=("event_id",), example={"event_id": event}),
        E("GET", "/api/events/GetEvents", query=("name",), example={"name": "Fuzz"}),
        E("POST", "/api/events/JoinEvent", ("event_id",), example={"event_id": event}),
        E("POST", "/api/events/LeaveEvent", ("event_id",), example={"event_id": event}),
        E("POST", "/api/events/DeleteEvent", ("event_id",), example={"event_id": event}),
        E("GET", "/api/events/GetCreatedEvents"),
        E("GET", "/api/events/GetJoinedEvents"),
    ], token, {"provider": "github", "event": event, "user": other.id}, refused_campus, (
        {"Cookie": f"sessionid={user.cookies['sessionid']}; csrftoken=\xe9\xe9", "X-CSRFToken": "\xe9\xe9"},
        {"Cookie": b"sessionid=\xff; csrftoken=\xff"}, {"Authorization": "Token ²"}, {}))


async def phone_target(http, server) -> Target:
    from tests.clients.phone import PHONES, auth, create_meeting, sign_up

    user_id, token = await sign_up(http, server, PHONES[0], name="fuzzer")
    other_id, _ = await sign_up(http, server, PHONES[1], name="other")
    meeting = await create_meeting(http, server, token, users=[other_id])
    E = Endpoint
    return Target("phone", [
        E("POST", "/api/auth/code/", ("phone",), example={"phone": PHONES[5]}),
        E("POST", "/api/auth/users/", ("phone", "code", "is_new", "name", "avatar"), files=("avatar",),
          example={"phone": PHONES[5], "code": "12345", "is_new": "true", "name": "N"}),
        E("GET", "/api/account/"),
        E("PATCH", "/api/account/", ("name", "hidden_phone", "avatar"), files=("avatar",),
          example={"name": "Fuzzer", "hidden_phone": False}),
        E("GET", "/api/users/", query=("users",), example={"users": str(other_id)}),
        E("GET", "/api/users/{user}/"),
        E("GET", "/api/blacklist/"),
        E("PUT", "/api/blacklist/", ("user",), example={"user": other_id}),
        E("DELETE", "/api/blacklist/", ("user",), example={"user": other_id}),
        E("GET", "/api/contacts/"),
        E("PUT", "/api/contacts/", ("names", "phones"), example={"names": ["Friend"], "phones": [PHONES[6]]}),
        E("DELETE", "/api/contacts/", ("phones",), example={"phones": [PHONES[6]]}),
        E("POST", "/api/meetings/", ("title", "description", "time", "logo", "users"), files=("logo",),
          example={"title": "T", "description": "d", "time": "2031-01-01T10:00:00Z", "users": [other_id]}),
        E("GET", "/api/meetings/", query=("all",), example={"all": "true"}),
        E("GET", "/api/meetings/{meeting}/"),
        E("PATCH", "/api/meetings/{meeting}/", ("completed",)),
        E("PUT", "/api/meetings/{meeting}/users/", ("user",), example={"user": other_id}),
        E("DELETE", "/api/meetings/{meeting}/users/", ("user",), example={"user": other_id}),
    ], auth(token), {"user": other_id, "meeting": meeting["id"]}, refused_by_status,
        ({"Authorization": "Token ²"}, {"Authorization": b"Token \xff\x00"}, {}))


async def directory_target(http, server) -> Target:
    from tests.clients.directory import auth, member

    user, token = await member(http, server, "fuzzer@example.com")
    org = await http.post(server.url + "/api/organizations/create/", headers=auth(token),
                          json_body={"title": "Fuzz org"})
    assert org.code == 201, org
    pending = await http.post(server.url + "/api/events/create/", headers=auth(token),
                              json_body={"title": "Fuzz event", "organizations": [{"id": org.json["id"]}]})
    assert pending.code == 202, pending
    E = Endpoint
    return Target("directory", [
        E("POST", "/api/user/sign-up/", ("email", "password", "telephone", "phone"),
          example={"email": "new@example.com", "password": "pw-123456", "telephone": "+79250741417"}),
        E("POST", "/api/user/sign-in/", ("email", "password"),
          example={"email": "fuzzer@example.com", "password": "s3cret-pass"}),
        E("POST", "/api/user/refresh/", ("refresh",), example={"refresh": "x.y.z"}),
        E("POST", "/api/organizations/create/", ("title", "description", "postcode", "address", "users"),
          example={"title": "O", "description": "d", "postcode": "123", "address": "a", "users": [{"id": user["id"]}]}),
        E("GET", "/api/organizations/", query=("search", "limit", "offset"),
          example={"search": "Fuzz", "limit": "5", "offset": "1"}),
        E("GET", "/api/organizations/{org}/"),
        E("POST", "/api/events/create/", ("title", "description", "date", "organizations", "image"), files=("image",),
          example={"title": "E", "description": "d", "date": "2031-01-01T10:00:00+03:00",
                   "organizations": [{"id": org.json["id"]}]}),
        E("GET", "/api/events/pending/{pending}/"),
        E("GET", "/api/events/", query=("date", "date__gte", "date__lte", "ordering", "search", "limit", "offset"),
          example={"date__gte": "2030-01-01", "date__lte": "2032-01-01", "ordering": "-date", "search": "E",
                   "limit": "5", "offset": "0"}),
        E("GET", "/api/events/{org}/"),
        E("GET", "/api/chat/messages/", query=("limit", "offset"), example={"limit": "5", "offset": "1"}),
    ], auth(token), {"org": org.json["id"], "pending": pending.json["id"]}, refused_by_status,
        ({"Authorization": "Bearer ²"}, {"Authorization": b"\xff\xfe"}, {"Authorization": "Bearer a.b.c"}, {}))


async def site_target(http, server) -> Target:
    """The staff pages (signed in as staff; the forms' CSRF value known), /media, /healthz and
    /metrics."""
    import re

    from tests.clients.base import NoRedirects
    from tests.clients.directory import auth, member
    from tests.clients.staff import cookie_of

    await server.services.directory_accounts.ensure_staff("boss@example.com", "staff-pass-1")
    r = await NoRedirects(http).post(server.url + "/admin/login", data=b"email=boss%40example.com&password=staff-pass-1",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    cookie = cookie_of(r)
    victim, token = await member(http, server, "someone@example.com")
    org = await http.post(server.url + "/api/organizations/create/", headers=auth(token), json_body={"title": "Org"})
    page = await http.get(server.url + f"/admin/users/{victim['id']}", headers={"Cookie": cookie})
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.body.decode()).group(1)
    E = Endpoint
    lists = ("q", "door", "staff", "active", "sort", "page", "date__gte", "date__lte", "done")
    return Target("site", [
        E("GET", "/admin/", query=("done",)),
        E("GET", "/admin/login", query=("next",)),
        E("POST", "/admin/login", ("email", "password", "next"),
          example={"email": "boss@example.com", "password": "wrong-pass", "next": "/admin/users"}),
        E("GET", "/admin/login/link", query=("token", "next")),
        E("GET", "/admin/users", query=lists,
          example={"q": "some", "door": "directory", "staff": "no", "active": "yes", "sort": "-name", "page": "1"}),
        E("GET", "/admin/users/{user}"),
        E("POST", "/admin/users/{user}/name", ("csrf", "name"), example={"name": "Renamed"}),
        E("POST", "/admin/users/{user}/{action}", ("csrf", "confirm")),
        E("GET", "/admin/organizations", query=lists),
        E("GET", "/admin/organizations/{id}"),
        E("GET", "/admin/events", query=lists,
          example={"q": "E", "door": "directory", "date__gte": "2030-01-01", "date__lte": "2032-01-01", "page": "1"}),
        E("GET", "/admin/events/{id}"),
        E("GET", "/admin/chats", query=lists),
        E("GET", "/admin/chats/{id}", query=("before",)),
        E("GET", "/admin/log", query=lists),
        E("GET", "/admin/confirmations"),
        E("POST", "/admin/confirmations/{user}", ("csrf", "decision"), example={"decision": "approve"}),
        E("GET", "/media/{id}"),
        E("GET", "/healthz"),
        E("GET", "/metrics"),
    ], {"Cookie": cookie}, {"id": org.json["id"], "user": victim["id"], "action": "make-staff"}, refused_by_status,
        ({"Cookie": "meetsrv_admin=\xe9"}, {"Cookie": b"meetsrv_admin=\xff"}, {}), known_fields={"csrf": csrf})


TARGETS = {"rooms": rooms_target, "social": social_target, "campus": campus_target, "phone": phone_target,
           "directory": directory_target, "site": site_target}


class Fuzz:
    """One server per test, set up for one door on first use; Hypothesis's examples share it."""

    def __init__(self, start_server, http, clock):
        self.start_server, self.http, self.clock = start_server, http, clock
        self.probe = self.target = None

    async def door(self, name: str) -> tuple[Probe, Target]:
        if self.target is None:
            server = await self.start_server(clock=self.clock, oauth_apps=(
                OAuthApp("github", "fuzz-client", "fuzz-secret", token_url="http://127.0.0.1:1/token",
                         userinfo_url="http://127.0.0.1:1/user"),))
            self.target = await TARGETS[name](self.http, server)
            self.probe = Probe(server)
            self.probe.rows = await self.probe.snapshot()
            self.probe.take_failures()
        return self.probe, self.target

    def close(self):
        if self.probe is not None:
            self.probe.close()


@pytest_twisted.async_yield_fixture
async def fuzz(start_server, http, clock):
    f = Fuzz(start_server, http, clock)
    yield f
    f.close()


# One test per door: pytest-twisted wraps a Hypothesis test's inner function once per call, so a
# parametrized one would wrap it twice.

@FUZZ
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_rooms_answers_hostile_requests(fuzz, data):
    probe, target = await fuzz.door("rooms")
    await check_request(probe, target, data.draw(requests(target), label="request"))


@FUZZ
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_social_answers_hostile_requests(fuzz, data):
    probe, target = await fuzz.door("social")
    await check_request(probe, target, data.draw(requests(target), label="request"))


@FUZZ
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_campus_answers_hostile_requests(fuzz, data):
    probe, target = await fuzz.door("campus")
    await check_request(probe, target, data.draw(requests(target), label="request"))


@FUZZ
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_phone_answers_hostile_requests(fuzz, data):
    probe, target = await fuzz.door("phone")
    await check_request(probe, target, data.draw(requests(target), label="request"))


@FUZZ
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_directory_answers_hostile_requests(fuzz, data):
    probe, target = await fuzz.door("directory")
    await check_request(probe, target, data.draw(requests(target), label="request"))


@FUZZ
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_staff_pages_and_media_answer_hostile_requests(fuzz, data):
    probe, target = await fuzz.door("site")
    await check_request(probe, target, data.draw(requests(target), label="request"))


# -- WebSockets --------------------------------------------------------------------------------

@dataclass
class SocketTarget:
    """A door's WebSocket with two members connected: `sender` gets the hostile frames, and
    `observer` shows what was accepted. After each hostile frame the sender sends `sentinel`
    (its effect on the tables is measured once, alone); the frames the observer sees before the
    sentinel's tell whether the hostile one was accepted. A door whose socket answers every
    frame (campus marking) has no sentinel: the answer tells."""

    name: str
    url: Callable[[], str]  # the sender's URL
    headers: dict
    shape: Callable  # a hostile value -> the door's own frame
    observer_url: str | None = None
    observer_headers: dict = field(default_factory=dict)
    sentinel: Callable[[int], bytes] | None = None
    is_sentinel: Callable[[str, int], bool] | None = None
    refused: Callable[[str], bool] | None = None  # the answer to a frame (doors without a sentinel)
    extra_frames: tuple = ()
    # (a hostile path segment, percent-encoded; a hostile text) -> (url, headers)
    handshakes: Callable[[str, str], tuple[str, dict]] | None = None


def _json(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


async def rooms_socket(http, server) -> SocketTarget:
    target = await rooms_target(http, server)
    room = target.path_values["room"]
    other = await http.post(server.url + "/v1/login/", json_body={"login": "other", "password": "pw-123456"})
    base = f"{server.ws_url}/v1/rooms/{room}/chat/"
    session = target.headers["X-Session-Id"]
    return SocketTarget(
        "rooms", lambda: f"{base}?session_id={session}", {}, lambda v: {"text": v},
        observer_url=f"{base}?session_id={other.json['session_id']}",
        sentinel=lambda k: json.dumps({"text": f"sentinel {k}"}).encode(),
        is_sentinel=lambda text, k: (_json(text) or {}).get("text") == f"sentinel {k}",
        handshakes=lambda seg, text: (f"{server.ws_url}/v1/rooms/{seg}/chat/?session_id={hostile.percent(text)}", {}),
    )


async def social_socket(http, server) -> SocketTarget:
    from tests.clients.social import auth, login

    target = await social_target(http, server)
    owner = target.headers["Authorization"].split()[1]
    chat = (await http.get(server.url + "/chats-list/", headers=auth(owner))).json[0]
    member, _ = await login(http, server, 42, first_name="Other")
    base = f"{server.ws_url}/chat/{chat['channel_slug']}/"
    return SocketTarget(
        "social", lambda: f"{base}?token={owner}", {},
        lambda v: v if isinstance(v, str) else json.dumps(v), observer_url=f"{base}?token={member}",
        sentinel=lambda k: f"sentinel {k}".encode(), is_sentinel=lambda text, k: text == f"sentinel {k}",
        handshakes=lambda seg, text: (f"{server.ws_url}/chat/{seg}/?token={hostile.percent(text)}", {}),
    )


async def directory_socket(http, server) -> SocketTarget:
    # two members and nothing else: a pending event would be saved as the fuzz advances the clock
    from tests.clients.directory import member

    _, token = await member(http, server, "fuzzer@example.com")
    _, other = await member(http, server, "observer@example.com")
    base = f"{server.ws_url}/ws/chat/"
    return SocketTarget(
        "directory", lambda: f"{base}?token={token}", {}, lambda v: {"message": v},
        observer_url=f"{base}?token={other}",
        sentinel=lambda k: json.dumps({"message": f"sentinel {k}"}).encode(),
        is_sentinel=lambda text, k: (_json(text) or {}).get("message") == f"sentinel {k}",
        handshakes=lambda seg, text: (f"{base}?token={hostile.percent(text)}", {"Authorization": f"Bearer {seg}"[:200]}),
    )


async def campus_socket(http, server) -> SocketTarget:
    """A marker on a running event, with a student waiting to be marked."""
    from tests.clients.campus import User, create_event

    creator = await User(http, server, "creator").signup()
    marker = await User(http, server, "marker").signup()
    student = await User(http, server, "student").signup()
    now = int(server.services.clock.seconds())
    event = await create_event(creator, "Fuzz lecture", now + 60, now + 36000)
    for user in (marker, student):
        assert (await user.post("/api/events/JoinEvent", {"event_id": event}))["error"] == 0
    server.services.clock.advance(61)
    base = f"{server.ws_url}/ws/marking?event_id={event}"
    return SocketTarget(
        "campus", lambda: base, marker.ws_headers(),
        lambda v: {"message": "prepare_to_mark", "params": {"user_id": v}},
        observer_url=f"{server.ws_url}/ws/mark_me?event_id={event}", observer_headers=student.ws_headers(),
        refused=lambda text: (_json(text) or {}).get("result") != "ok",
        extra_frames=tuple(json.dumps(f).encode() for f in (
            {"message": "prepare_to_mark", "params": {"user_id": student.id}},
            {"message": "prepare_to_mark", "params": {"user_id": str(student.id)}},
            {"message": "confirm_marking"}, {"message": "refuse_to_mark"}, {"message": "confirm_marking", "params": []},
        )),
        handshakes=lambda seg, text: (f"{server.ws_url}/ws/marking?event_id={hostile.percent(text)}&x={seg}",
                                     marker.ws_headers()),
    )


SOCKETS = {"rooms": rooms_socket, "social": social_socket, "directory": directory_socket, "campus": campus_socket}

# a frame's answers and relays arrive within this; a sentinel not seen by then is a failure
FRAME_TIMEOUT = 5.0


class SocketFuzz:
    """The door's sockets, reconnected when the server closes one (never with 4500)."""

    def __init__(self, start_server, http, clock, ws):
        self.start_server, self.http, self.clock, self.ws = start_server, http, clock, ws
        self.target = self.probe = None
        self.sender = self.observer = None
        self.count = 0
        self.sentinel_delta: dict = {}

    async def door(self, name: str):
        if self.target is None:
            server = await self.start_server(clock=self.clock)
            self.target = await SOCKETS[name](self.http, server)
            self.probe = Probe(server)
            if self.target.observer_url:
                self.observer = await self.ws(self.target.observer_url, headers=self.target.observer_headers)
            await self.connect()
            if self.target.refused is None:
                self.sentinel_delta = await self.measure_sentinel()
            else:
                await self.sender.next_text(FRAME_TIMEOUT)  # the marking list
            self.probe.take_failures()
        return self.probe, self.target

    async def connect(self):
        self.sender = await self.ws(self.target.url(), headers=self.target.headers)

    async def measure_sentinel(self) -> dict:
        before = table_counts(await self.probe.snapshot())
        await self.send_and_sync(None)
        after = table_counts(await self.probe.snapshot())
        return {name: after[name] - before[name] for name in after}

    async def send_and_sync(self, frame) -> list[str]:
        """Send `frame` (None: only the sentinel), then the sentinel; what the observer saw
        before the sentinel."""
        self.count += 1
        k = self.count
        if frame is not None:
            self.sender.proto.sendMessage(*frame)
        self.sender.proto.sendMessage(self.target.sentinel(k), False)
        seen = []
        while True:
            text = await self.observer.next_text(FRAME_TIMEOUT)
            if self.target.is_sentinel(text, k):
                return seen
            seen.append(text)

    def closed_code(self):
        proto = self.sender.proto
        return getattr(proto, "close_code", None) if proto.closed.called else None


CLOSED = object()


async def unless_closed(work, sock):
    """What the coroutine `work` gives, or CLOSED as soon as the socket `sock` is closed (then
    `work` is cancelled: an answer or sentinel will not come)."""
    from twisted.internet import defer

    d = defer.ensureDeferred(work)
    out = defer.Deferred()

    def first(result, value):
        if not out.called:
            out.callback(value if value is not None else result)
        return result

    d.addBoth(first, None)
    sock.proto.closed.addBoth(first, CLOSED)
    result = await out
    if result is CLOSED:
        d.addErrback(lambda f: None)
        d.cancel()
    elif isinstance(result, Exception) or hasattr(result, "raiseException"):
        result.raiseException()
    return result


async def check_frame(fuzz: SocketFuzz, frame) -> None:
    """Send one hostile frame; the properties of the module docstring."""
    target, probe = fuzz.target, fuzz.probe
    fuzz.clock.advance(1)  # the message rate limit refills on the server's clock
    if fuzz.observer is not None:
        fuzz.observer.proto.messages.pending.clear()  # relays of frames before a reconnect
    before = table_counts(await probe.snapshot())
    shown = f"{target.name} frame {frame[0][:300]!r} binary={frame[1]}"
    if target.refused is not None:
        fuzz.sender.proto.sendMessage(*frame)
        answer = await unless_closed(fuzz.sender.next_text(FRAME_TIMEOUT), fuzz.sender)
        refused = answer is not CLOSED and target.refused(answer)
        shown += f" -> {answer if answer is CLOSED else answer[:300]!r}"
    else:
        seen = await unless_closed(fuzz.send_and_sync(frame), fuzz.sender)
        refused = seen is not CLOSED and not seen
        shown += f" -> observer saw {seen!r}"
    # a frame Autobahn refuses (a text frame that is not UTF-8: 1007) closes the socket; 4500
    # (or 1011) would be a failure of the door's
    code = fuzz.closed_code()
    failures = probe.take_failures()
    assert not failures, shown + "\n" + "\n".join(failures)
    assert code not in (4500, 1011), f"{shown}: closed with {code}"
    if code is not None:
        await fuzz.connect()
        if target.refused is not None:
            await fuzz.sender.next_text(FRAME_TIMEOUT)  # the marking list
        return
    after = table_counts(await probe.snapshot())
    if refused:
        expected = {name: before[name] + fuzz.sentinel_delta.get(name, 0) for name in before}
        assert after == expected, f"{shown}\nrefused, yet the tables changed: {before} -> {after}"


async def check_handshake(fuzz: SocketFuzz, segment: str, text: str) -> None:
    """A handshake with a hostile path value, query value or credential: opened, or refused with
    a 4xx, nothing logged."""
    url, headers = fuzz.target.handshakes(segment, text)
    status = "open"
    try:
        sock = await fuzz.ws(url, headers=headers)
        await sock.close()
    except HandshakeRefused as e:
        status = e.status
    failures = fuzz.probe.take_failures()
    assert not failures, f"{url} {headers}\n" + "\n".join(failures)
    assert status == "open" or (status is not None and 400 <= status < 500), f"{url} {headers}: {status}"


@st.composite
def socket_inputs(draw, target: SocketTarget):
    """("frame", (payload, binary)) mostly; sometimes ("handshake", hostile path segment)."""
    if target.handshakes is not None and not draw(st.integers(0, 7)):
        return "handshake", (draw(hostile.path_segments), draw(hostile.texts))
    frames = hostile.frames(target.shape)
    if target.extra_frames:
        frames = st.one_of(frames, st.sampled_from(target.extra_frames).map(lambda f: (f, False)))
    return "frame", draw(frames)


@pytest_twisted.async_yield_fixture
async def socket_fuzz(start_server, http, clock, ws):
    f = SocketFuzz(start_server, http, clock, ws)
    yield f
    if f.probe is not None:
        f.probe.close()


async def fuzz_socket(socket_fuzz, name, data):
    _, target = await socket_fuzz.door(name)
    kind, value = data.draw(socket_inputs(target), label="input")
    if kind == "handshake":
        await check_handshake(socket_fuzz, *value)
    else:
        await check_frame(socket_fuzz, value)


@FUZZ_SOCKETS
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_rooms_chat_socket_answers_hostile_frames(socket_fuzz, data):
    await fuzz_socket(socket_fuzz, "rooms", data)


@FUZZ_SOCKETS
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_social_chat_socket_answers_hostile_frames(socket_fuzz, data):
    await fuzz_socket(socket_fuzz, "social", data)


@FUZZ_SOCKETS
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_directory_lobby_socket_answers_hostile_frames(socket_fuzz, data):
    await fuzz_socket(socket_fuzz, "directory", data)


@FUZZ_SOCKETS
@given(data=st.data())
@pytest_twisted.ensureDeferred
async def test_campus_marking_socket_answers_hostile_frames(socket_fuzz, data):
    await fuzz_socket(socket_fuzz, "campus", data)

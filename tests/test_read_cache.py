"""The read cache (store/cache.py): hot detail reads answered without a query, dropped when a
table they read is written (here at once, in other processes through the bus); and the
verified-once JWTs and the credential cache hit without a Deferred of the REST path."""

from __future__ import annotations

import pytest
import pytest_twisted
from sqlalchemy import delete, select
from twisted.internet import defer, task

from meetsrv.core.accounts.jwt import JwtTokens
from meetsrv.store.cache import ReadCache
from meetsrv.store.db import UNSEEN_BY_READ_CACHE, tables_written
from meetsrv.store.tables import chat_members, credentials, meeting_members, meetings, users
from tests.clients.phone import PHONES, auth, create_meeting, sign_up
from tests.support.backends import PG, REDIS


async def _value(found):
    return (await found) if isinstance(found, defer.Deferred) else found


def _counting(server) -> list[str]:
    statements: list[str] = []
    server.db.add_statement_observer(statements.append)
    return statements


@pytest_twisted.ensureDeferred
async def test_a_kept_read_answers_at_once_until_a_table_it_read_is_written(server, http):
    uid, _ = await sign_up(http, server, PHONES[0], name="Ann")
    store = server.services.user_store
    statements = _counting(server)
    first = store.get_cached(uid)
    assert isinstance(first, defer.Deferred)  # not kept yet: read from the database
    assert (await first).name == "Ann"
    del statements[:]
    kept = store.get_cached(uid)
    assert not isinstance(kept, defer.Deferred) and kept.name == "Ann"
    assert statements == []  # no query, no thread hop
    # a write of a table it read, by any transaction of this process: the next read is fresh
    await store.update(uid, name="Bea")
    again = store.get_cached(uid)
    assert isinstance(again, defer.Deferred) and (await again).name == "Bea"
    assert store.get_cached(uid).name == "Bea"


@pytest_twisted.ensureDeferred
async def test_a_read_that_raced_a_write_is_not_kept(server, http):
    uid, _ = await sign_up(http, server, PHONES[0], name="Ann")
    store, cache = server.services.user_store, server.services.read_cache
    reading = store.get_cached(uid)
    assert isinstance(reading, defer.Deferred)
    cache.mark({"users"})  # a write of users lands while the read runs
    assert (await reading).name == "Ann"
    assert isinstance(store.get_cached(uid), defer.Deferred)  # what it read may be old: not kept
    assert (await store.get_cached(uid)).name == "Ann"
    assert not isinstance(store.get_cached(uid), defer.Deferred)


@pytest_twisted.ensureDeferred
async def test_a_read_of_a_table_whose_writes_are_not_announced_is_never_kept(server, http):
    uid, _ = await sign_up(http, server, PHONES[0])
    stmt = select(credentials.c.kind).where(credentials.c.user_id == uid)

    def kinds(t):
        return [r["kind"] for r in t.rows(stmt)]

    assert await _value(server.db.cached("test.kinds", uid, kinds)) == ["phone"]
    assert isinstance(server.db.cached("test.kinds", uid, kinds), defer.Deferred)


def test_a_delete_changes_the_tables_its_on_delete_rules_change():
    assert {"users", "meeting_members", "photos", "chat_members", "meetings"} <= tables_written(delete(users))
    assert tables_written(delete(meetings)) >= {"meetings", "meeting_members", "join_requests"}
    assert tables_written(delete(meeting_members)) == {"meeting_members"}
    assert tables_written(select(users)) == frozenset()
    unseen = chat_members.update().values(last_read_message_id=1).execution_options(**UNSEEN_BY_READ_CACHE)
    assert tables_written(unseen) == frozenset() and tables_written(chat_members.update()) == {"chat_members"}


@pytest_twisted.ensureDeferred
async def test_details_stay_right_through_writes(server, http):
    """Each door's kept detail, read again after the writes that change it."""
    (a, ta), (b, tb), (c, tc) = [await sign_up(http, server, PHONES[i], name=f"u{i}") for i in range(3)]
    m = await create_meeting(http, server, ta, users=[b])
    url = server.url + f"/api/meetings/{m['id']}/"
    for _ in range(2):  # the second answer comes from the read cache
        r = await http.get(url, headers=auth(tb))
        assert r.code == 200 and (sorted(r.json["users"]), r.json["king"]) == (sorted([a, b]), a)
    assert (await http.get(url, headers=auth(tc))).code == 404
    r = await http.put(url + "users/", headers=auth(ta), json_body={"user": c})
    assert r.code == 200
    r = await http.get(url, headers=auth(tc))
    assert r.code == 200 and sorted(r.json["users"]) == sorted([a, b, c])
    # deleting the king's account removes the members' rows through ON DELETE CASCADE
    assert (await http.delete(server.url + "/api/account/", headers=auth(ta))).code == 204
    r = await http.get(url, headers=auth(tb))
    assert r.code == 200 and sorted(r.json["users"]) == sorted([b, c]) and r.json["king"] in (b, c)
    r = await http.get(server.url + "/api/account/", headers=auth(tb))
    assert r.code == 200
    # the profile a door shows (campus GetProfile reads it kept) follows a rename
    profile = server.url + f"/api/profile/GetProfile?user_id={b}"
    token = {"Authorization": f"Token {tb}"}
    for _ in range(2):
        assert (await http.get(profile, headers=token)).json["response"]["display_name"] == "u1"
    await server.services.user_store.update(b, name="Renamed")
    assert (await http.get(profile, headers=token)).json["response"]["display_name"] == "Renamed"


@pytest_twisted.ensureDeferred
async def test_a_read_mark_keeps_the_room_detail(server, http):
    """A chat's read mark is written all the time and no kept read shows it: not announced."""
    rooms = server.services.rooms
    store = server.services.chat_store
    uid, _ = await sign_up(http, server, PHONES[0], name="Ann")
    other, _ = await sign_up(http, server, PHONES[1], name="Bob")
    room = await rooms.create(uid, [other])
    await _value(rooms.get(uid, room["id"]))
    assert not isinstance(rooms.get(uid, room["id"]), defer.Deferred)
    message_id, _ = await store.insert_message(room["id"], other, "hi", 1.0)
    assert await server.services.chats.mark_read(room["id"], uid, message_id)
    assert not isinstance(rooms.get(uid, room["id"]), defer.Deferred)
    await rooms.create(uid, [])  # a new room: chats and chat_members written
    assert isinstance(rooms.get(uid, room["id"]), defer.Deferred)


class _Bus:
    def __init__(self):
        self.connected = True
        self.published: list[tuple[str, str]] = []
        self.refuse = False
        self.restored = []

    def subscribe(self, channel, callback):
        class Sub:
            ready = defer.succeed(None)

            def cancel(self):
                pass

        self.callback = callback
        return Sub()

    def on_restored(self, callback):
        self.restored.append(callback)

    def publish(self, channel, payload):
        if self.refuse:
            return defer.fail(ConnectionError("refused"))
        self.published.append((channel, payload))
        return defer.succeed(None)


def test_cache_rules_bus_ttl_and_marks():
    clock = task.Clock()
    bus = _Bus()
    cache = ReadCache(bus, clock, ttl=30.0)
    cache.put("k", 1, cache.serial, {"users"})
    assert cache.get("k") is cache.MISS  # nothing is kept before the subscription is live
    cache.start()
    started = cache.serial
    cache.put("k", 1, started, {"users", "meetings"})
    assert cache.get("k") == 1
    cache.put("other", 2, started, {"users", "messages"})  # messages: writes not announced
    assert cache.get("other") is cache.MISS
    # this process's own mark coming back from the bus is no mark (it was marked when written)
    bus.callback(f"{cache.origin} meetings")
    assert cache.get("k") == 1
    # another process wrote meetings: its mark arrives on the bus
    bus.callback("0123456789ab meetings")
    assert cache.get("k") is cache.MISS
    # older than the ttl
    cache.put("k", 1, cache.serial, {"users"})
    clock.advance(30)
    assert cache.get("k") is cache.MISS
    # the bus away: nothing kept is trusted, nothing new is kept; back: all dropped
    cache.put("k", 1, cache.serial, {"users"})
    bus.connected = False
    assert cache.get("k") is cache.MISS
    cache.put("k", 1, cache.serial, {"users"})
    assert len(cache) == 0
    bus.connected = True
    begun = cache.serial
    for restored in bus.restored:
        restored()
    cache.put("k", 1, begun, {"users"})  # began before the bus came back
    assert cache.get("k") is cache.MISS
    # this process's writes: marked here, published; a refused publish is tried again
    cache.put("k", 1, cache.serial, {"users"})
    bus.refuse = True
    cache.written(frozenset({"users", "messages"}))
    assert cache.get("k") is cache.MISS and bus.published == []
    bus.refuse = False
    clock.advance(cache.retry_interval)
    assert bus.published == [("tables.written", f"{cache.origin} users")]
    assert cache.written(frozenset({"messages"})) is None  # not watched: not announced
    # bounded
    small = ReadCache(bus, clock, size=2)
    small.start()
    for key in "abc":
        small.put(key, key, small.serial, {"users"})
    assert len(small) == 2 and small.get("a") is small.MISS and small.get("c") == "c"


class _Credentials:
    ended: dict = {}

    def sessions_ended(self, user_id, issued_at):
        ended = self.ended.get(user_id)
        return ended is not None and issued_at <= ended


def test_jwt_verified_once_expiry_and_endings_read_each_time():
    clock = task.Clock()
    clock.advance(1_000_000)
    creds = _Credentials()
    tokens = JwtTokens("s" * 40, clock, creds, cache_size=2)
    access = tokens._encode(7, "access", 300)
    assert tokens.decode(access, "access") == 7
    assert tokens.decode(access, "access") == 7  # verified once, kept
    assert tokens.decode(access, "refresh") is None
    assert tokens.decode(access[:-2] + "xx", "access") is None
    assert tokens.decode("not a jwt", "access") is None
    assert len(tokens._verified) == 2  # bounded
    creds.ended = {7: clock.seconds()}
    assert tokens.decode(access, "access") is None  # sessions ended after it was issued
    creds.ended = {}
    clock.advance(300)
    assert tokens.decode(access, "access") is None  # expired, even though verified before
    assert access not in tokens._verified


@pytest_twisted.ensureDeferred
async def test_a_cached_credential_answers_without_a_deferred(server, http):
    uid, token = await sign_up(http, server, PHONES[0])
    credentials = server.services.credentials
    assert credentials.user_of(None, ("phone",)) is None
    first = credentials.user_of(token, ("phone",))
    assert (await _value(first)) == uid
    assert credentials.user_of(token, ("phone",)) == uid
    assert credentials.user_of(token, ("rooms",)) is None
    await credentials.revoke(token)
    assert await _value(credentials.user_of(token, ("phone",))) is None


@pytest.mark.skipif(not (PG and REDIS), reason="two processes share a database and the bus: PostgreSQL and Redis")
@pytest_twisted.ensureDeferred
async def test_a_write_in_one_process_drops_the_kept_read_of_another(start_server, http):
    one = await start_server()
    two = await start_server()
    (a, ta), (b, tb), (c, tc) = [await sign_up(http, one, PHONES[i], name=f"u{i}") for i in range(3)]
    m = await create_meeting(http, one, ta, users=[b])
    url = f"/api/meetings/{m['id']}/"
    for _ in range(2):
        r = await http.get(two.url + url, headers=auth(tb))
        assert r.code == 200 and sorted(r.json["users"]) == sorted([a, b])
    assert not isinstance(two.services.phone_meetings.store.get_cached(m["id"]), defer.Deferred)
    # invited through process one: process two was told before the answer came
    assert (await http.put(one.url + url + "users/", headers=auth(ta), json_body={"user": c})).code == 200
    r = await http.get(two.url + url, headers=auth(tb))
    assert r.code == 200 and sorted(r.json["users"]) == sorted([a, b, c])
    profile = f"/api/profile/GetProfile?user_id={b}"
    for _ in range(2):
        r = await http.get(two.url + profile, headers={"Authorization": f"Token {tb}"})
        assert r.json["response"]["display_name"] == "u1"
    await one.services.user_store.update(b, name="Renamed")
    r = await http.get(two.url + profile, headers={"Authorization": f"Token {tb}"})
    assert r.json["response"]["display_name"] == "Renamed"

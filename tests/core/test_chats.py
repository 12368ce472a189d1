"""The chat service without HTTP: post (each message linked to the one before, a client_id stored
once), publish (tried again on the clock when the bus refuses), history both ways, membership and
read state; over SQLite, and over PostgreSQL when MEETSRV_TEST_POSTGRES names it."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer, task

from meetsrv.core.chats.service import ChatNotFound, ChatService, NotAMember
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.chats.chats import ChatStore
from tests.support.waiting import in_thread


@pytest.fixture
def clock():
    """A task.Clock at a whole second: the halves of a second it is advanced by add up exactly."""
    c = task.Clock()
    c.advance(1_700_000_000)
    return c


class Bus:
    """A stand-in for the bus: records each publish; the first `refuse` publishes fail."""

    def __init__(self, refuse: int = 0):
        self.refuse = refuse
        self.tries: list[tuple[str, str]] = []

    def publish(self, channel: str, payload: str) -> defer.Deferred:
        self.tries.append((channel, payload))
        if len(self.tries) <= self.refuse:
            return defer.fail(ConnectionError("the bus is away"))
        return defer.succeed(None)


class Chats:
    """A chat service over the test's database, users ann, bob and carol, and a room of ann and
    bob."""

    async def make(self, database, clock, bus=None):
        self.clock = clock
        self.bus = bus or Bus()
        self.service = ChatService(ChatStore(database), self.bus, clock)
        users = UserStore(database)
        self.ann, self.bob, self.carol = [await users.insert(clock.seconds(), username=name)
                                          for name in ("ann", "bob", "carol")]
        self.room = await self.new_chat("room", [self.ann, self.bob])
        return self

    async def new_chat(self, kind: str, members) -> int:
        return await self.service.store.create(kind, members, self.clock.seconds())

    async def post_many(self, chat_id: int, user_id: int, count: int) -> list[int]:
        return [(await self.service.post(chat_id, user_id, f"m{i}")).message.id for i in range(count)]

    def unread(self, user_id: int, kind: str = "room"):
        return self.service.unread_counts(user_id, kind)


@pytest_twisted.async_yield_fixture
async def chats(database, clock):
    made = await Chats().make(database, clock)
    yield made
    made.service.stop()


# -- post ------------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_each_message_is_linked_to_the_one_before(chats):
    service, room = chats.service, chats.room
    first = await service.post(room, chats.ann, "привет")
    chats.clock.advance(5)
    second = await service.post(room, chats.bob, "hi", client_id="b-1")
    third = await service.post(room, chats.ann, "again")
    assert [p.new for p in (first, second, third)] == [True, True, True]
    assert first.message.id < second.message.id < third.message.id
    assert [p.prev_id for p in (first, second, third)] == [0, first.message.id, second.message.id]
    m = second.message
    assert (m.chat_id, m.user_id, m.text, m.created, m.client_id) == (room, chats.bob, "hi", chats.clock.seconds(), "b-1")
    # another chat's links start again
    other = await chats.new_chat("room", [chats.ann, chats.carol])
    assert (await service.post(other, chats.carol, "x")).prev_id == 0
    assert await service.newest_id(room) == third.message.id
    assert await service.newest_id(other) > third.message.id


@pytest_twisted.ensureDeferred
async def test_posts_at_once_each_link_to_the_one_stored_before(chats):
    """Posts sent together (on PostgreSQL on several connections at once) take turns: read in id
    order, each names the one before it, and the first names the chat's message before them."""
    service, room = chats.service, chats.room
    first = await service.post(room, chats.ann, "first")
    posted = await defer.gatherResults([
        defer.ensureDeferred(service.post(room, (chats.ann, chats.bob)[i % 2], f"m{i}")) for i in range(40)])
    links = sorted((p.message.id, p.prev_id) for p in posted)
    ids = [first.message.id] + [message_id for message_id, _ in links]
    assert [prev_id for _, prev_id in links] == ids[:-1]
    assert await service.newest_id(room) == ids[-1]
    assert (await service.post(room, chats.bob, "next")).prev_id == ids[-1]


def _cut_other_connections(url: str) -> int:
    """End every other session on the database (as a restarted PostgreSQL would): how many."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


@pytest_twisted.ensureDeferred
async def test_posting_goes_on_over_connections_opened_again(chats, database):
    """PostgreSQL keeps the post's statement prepared per connection: a connection opened again
    after the old ones were cut has none, and posting prepares it there again."""
    if database.name != "postgresql":
        pytest.skip("connections are cut on PostgreSQL")
    service, room = chats.service, chats.room
    before = await chats.post_many(room, chats.ann, 3)
    assert await in_thread(_cut_other_connections, database.url) >= 1
    for _attempt in range(3):  # the first statement on a cut connection fails; adbapi reopens it
        try:
            after = await service.post(room, chats.bob, "after the cut")
            break
        except Exception:
            continue
    else:
        pytest.fail("posting did not come back after the connections were cut")
    assert after.prev_id == before[-1]
    again = await service.post(room, chats.ann, "again")
    assert again.prev_id == after.message.id


@pytest_twisted.ensureDeferred
async def test_a_client_id_is_stored_once_per_sender_and_chat(chats):
    service, room = chats.service, chats.room
    before = await service.post(room, chats.bob, "before")
    first = await service.post(room, chats.ann, "once", client_id="c-1")
    await service.post(room, chats.bob, "between")
    again = await service.post(room, chats.ann, "once, sent again", client_id="c-1")
    assert (again.new, again.message, again.prev_id) == (False, first.message, before.message.id)
    # the same client_id from another sender, or in another chat, is another message
    bobs = await service.post(room, chats.bob, "bob's c-1", client_id="c-1")
    other = await chats.new_chat("room", [chats.ann, chats.carol])
    elsewhere = await service.post(other, chats.ann, "elsewhere", client_id="c-1")
    assert bobs.new and elsewhere.new
    texts = [m.text for m in await service.history(room)]
    assert texts == ["before", "once", "between", "bob's c-1"]


@pytest_twisted.ensureDeferred
async def test_posting_to_a_chat_that_is_not_there(chats):
    with pytest.raises(ChatNotFound):
        await chats.service.post(chats.room + 1000, chats.ann, "lost")


# -- publish ---------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_publish_sends_the_link_and_tries_again_when_the_bus_refuses(database, clock):
    chats = await Chats().make(database, clock, Bus(refuse=2))
    first = await chats.service.post(chats.room, chats.ann, "one")
    second = await chats.service.post(chats.room, chats.ann, "two")
    await chats.service.publish(second, '{"text": "two"}')  # never fails, even refused
    expected = (f"chat:{chats.room}", f"{second.message.id} {first.message.id}\n" + '{"text": "two"}')
    assert chats.bus.tries == [expected]
    clock.advance(0.5)
    assert len(chats.bus.tries) == 1
    clock.advance(0.5)  # the first try again after 1 s, the next 2 s later
    assert chats.bus.tries == [expected] * 2
    clock.advance(1.5)
    assert len(chats.bus.tries) == 2
    clock.advance(0.5)
    assert chats.bus.tries == [expected] * 3
    clock.advance(3600)
    assert len(chats.bus.tries) == 3  # published: nothing more


@pytest_twisted.ensureDeferred
async def test_stop_ends_the_tries_again(database, clock):
    chats = await Chats().make(database, clock, Bus(refuse=100))
    posted = await chats.service.post(chats.room, chats.ann, "one")
    await chats.service.publish(posted, "frame")
    clock.advance(1)
    assert len(chats.bus.tries) == 2
    chats.service.stop()
    clock.advance(3600)
    assert len(chats.bus.tries) == 2 and not clock.getDelayedCalls()


# -- history ---------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_history_both_ways_oldest_first(chats):
    service, room = chats.service, chats.room
    ids = await chats.post_many(room, chats.ann, 7)

    async def history(**kw):
        return [m.id for m in await service.history(room, **kw)]

    assert await history(limit=3) == ids[4:]
    assert await history(limit=50) == ids
    assert await history(limit=3, before=ids[4]) == ids[1:4]
    assert await history(limit=3, before=ids[1]) == ids[:1]
    assert await history(limit=3, after=ids[1]) == ids[2:5]
    assert await history(limit=3, after=ids[-1]) == []
    assert await history(limit=3, after=0) == ids[:3]
    count, page = await service.page(room, 2, 1)  # newest first, from an offset
    assert (count, [m.id for m in page]) == (7, [ids[5], ids[4]])
    empty = await chats.new_chat("room", [chats.ann])
    assert await service.history(empty) == [] and await service.newest_id(empty) == 0
    assert await service.page(empty, 10, 0) == (0, [])


# -- membership ------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_members_only_except_in_open_chats(chats):
    service, room = chats.service, chats.room
    assert (await service.member_chat(chats.bob, "room", chat_id=room)).id == room
    with pytest.raises(NotAMember):
        await service.member_chat(chats.carol, "room", chat_id=room)
    # a chat of another kind, or none, is not found (whoever asks)
    with pytest.raises(ChatNotFound):
        await service.member_chat(chats.bob, "meeting", chat_id=room)
    with pytest.raises(ChatNotFound):
        await service.member_chat(chats.bob, "room", chat_id=room + 1000)
    # everyone talks in the lobby, without a membership row
    lobby = await chats.new_chat("lobby", [])
    assert (await service.member_chat(chats.carol, "lobby", chat_id=lobby)).id == lobby


# -- read state ------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_unread_counts_others_messages_after_the_last_read(chats):
    service, room = chats.service, chats.room
    assert await chats.unread(chats.bob) == {}
    ids = await chats.post_many(room, chats.ann, 3)
    await chats.post_many(room, chats.bob, 2)  # one's own messages are never unread
    assert await chats.unread(chats.bob) == {room: 3}
    assert await chats.unread(chats.ann) == {room: 2}
    # by kind: bob's meeting chat is counted apart
    meeting = await chats.new_chat("meeting", [chats.ann, chats.bob])
    await service.post(meeting, chats.ann, "m")
    assert await chats.unread(chats.bob) == {room: 3}
    assert await chats.unread(chats.bob, "meeting") == {meeting: 1}

    assert await service.mark_read(room, chats.bob, ids[1]) is True
    assert await chats.unread(chats.bob) == {room: 1}
    # the last read only moves forward
    assert await service.mark_read(room, chats.bob, ids[0]) is True
    assert await chats.unread(chats.bob) == {room: 1}
    # a message of another chat is refused and moves nothing
    assert await service.mark_read(room, chats.bob, (await service.post(meeting, chats.ann, "n")).message.id) is False
    assert await chats.unread(chats.bob) == {room: 1}


@pytest_twisted.ensureDeferred
async def test_reading_the_newest_page_reads_the_chat(chats):
    service, room = chats.service, chats.room
    ids = await chats.post_many(room, chats.ann, 5)
    # an older page, a page after an id, or a history without a reader read nothing
    await service.history(room, 2, before=ids[-1], reader=chats.bob)
    await service.history(room, 2, after=ids[0], reader=chats.bob)
    await service.history(room, 2)
    assert await chats.unread(chats.bob) == {room: 5}
    # the newest page, even a short one, reads up to the chat's newest message
    await service.history(room, 2, reader=chats.bob)
    assert await chats.unread(chats.bob) == {}
    await service.post(room, chats.ann, "later")
    assert await chats.unread(chats.bob) == {room: 1}
    # reading the newest page of an empty chat changes nothing
    empty = await chats.new_chat("room", [chats.bob, chats.carol])
    assert await service.history(empty, reader=chats.bob) == []
    assert await chats.unread(chats.bob) == {room: 1}

"""The guarantees of every chat (CONTRACT.md), for rooms, social meeting chats and the directory
lobby alike, through real ports and Autobahn clients: per-chat id order with several writers,
`?after=` resume with no gap and no repeat (a message stored during the handshake included),
client_id acknowledgement and idempotency, errors that keep the socket open, unread counts."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer

from tests.clients.base import HandshakeRefused
from tests.clients.chats import DOORS, LobbyChat, RoomsChat, SocialChat, frames
from tests.clients.rooms import auth as rooms_auth
from tests.clients.social import auth as social_auth
from tests.support.backends import PG, REDIS
from tests.support.bus import HeldBus
from tests.support.waiting import until


# -- the three doors behind one interface (tests/clients/chats.py) ---------------------------
async def post_all(door, sock, listener, texts) -> None:
    """Send texts on sock and wait until listener has them (stored and delivered)."""
    for text in texts:
        door.send(sock, text)
    assert [t for _, t in await frames(door, listener, len(texts))] == list(texts)


def server_socket(server, door, who: int):
    """The server's side of user `who`'s socket on the door's chat."""
    feed = server.services.hub.feed(door.chat_id)
    return next(s for s in feed.sockets.values() if s.user_id == door.user_ids[who])


# -- resume ----------------------------------------------------------------------------------
@pytest.mark.parametrize("door_class", DOORS, ids=lambda d: d.name)
@pytest_twisted.ensureDeferred
async def test_resume_sends_what_was_missed_in_order_then_live_frames(server, http, ws, door_class):
    door = await door_class().setup(http, server)
    writer = await ws(door.url(server, 0))
    listener = await ws(door.url(server, 1))
    await post_all(door, writer, listener, [f"m{i}" for i in range(5)])
    stored = await door.history(http, server)
    assert [t for _, t in stored] == [f"m{i}" for i in range(5)]

    resumed = await ws(door.url(server, 2, after=stored[1][0]))
    got = await frames(door, resumed, 3)
    assert [t for _, t in got] == ["m2", "m3", "m4"]
    if door.name != "social":  # social frames are relayed raw: no id in them
        assert [i for i, _ in got] == [i for i, _ in stored[2:]]
    await post_all(door, writer, listener, ["live"])
    assert [t for _, t in await frames(door, resumed, 1)] == ["live"]

    # after the newest: nothing but live frames; after 0: everything
    caught_up = await ws(door.url(server, 2, after=stored[-1][0] + 1000))
    everything = await ws(door.url(server, 2, after=0))
    assert [t for _, t in await frames(door, everything, 6)] == ["m0", "m1", "m2", "m3", "m4", "live"]
    await post_all(door, writer, listener, ["last"])
    for sock in (resumed, caught_up, everything):
        assert [t for _, t in await frames(door, sock, 1)] == ["last"]
        assert sock.pending() == 0


@pytest.mark.parametrize("beyond", [0, 1000], ids=["after_the_newest", "after_beyond_the_newest"])
@pytest.mark.parametrize("door_class", DOORS, ids=lambda d: d.name)
@pytest_twisted.ensureDeferred
async def test_a_message_stored_during_the_handshake_comes_exactly_once(server, http, ws, door_class, beyond):
    door = await door_class().setup(http, server)
    writer = await ws(door.url(server, 0))
    listener = await ws(door.url(server, 1))
    await post_all(door, writer, listener, ["before"])
    # an `after` beyond the newest id names no message: those stored during the handshake may
    # take ids below it, and still come
    after = (await door.history(http, server))[-1][0] + beyond
    sender = server_socket(server, door, 0)
    services = server.services

    # messages stored by another socket at each step of the handshake: once the new socket
    # follows the chat (before the 101), just before its resume read (so it is both read and
    # held), and just after the read (so it is only held)
    join_chat, history = services.hub.join_chat, services.chats.history

    async def joined(chats, chat_id, sock):
        joined_after = await join_chat(chats, chat_id, sock)
        if sock.user_id == door.user_ids[2]:
            await sender.post("during join")
        return joined_after

    async def read(chat_id, limit=50, before=None, after=None, reader=None):
        resuming = after is not None
        if resuming:
            await sender.post("before read")
        result = await history(chat_id, limit, before, after, reader)
        if resuming:
            await sender.post("after read")
        return result

    services.hub.join_chat = lambda *a: defer.ensureDeferred(joined(*a))
    services.chats.history = lambda *a, **kw: defer.ensureDeferred(read(*a, **kw))
    try:
        resumed = await ws(door.url(server, 2, after=after))
        assert [t for _, t in await frames(door, resumed, 3)] == ["during join", "before read", "after read"]
        # without `after`, a message stored once the socket follows the chat (before the
        # handshake completes) still reaches it
        fresh = await ws(door.url(server, 2))
        assert [t for _, t in await frames(door, fresh, 1)] == ["during join"]
        assert [t for _, t in await frames(door, resumed, 1)] == ["during join"]
    finally:
        services.hub.join_chat, services.chats.history = join_chat, history
    door.send(writer, "end")
    for sock in (resumed, fresh):
        assert [t for _, t in await frames(door, sock, 1)] == ["end"]
        assert sock.pending() == 0
    assert [t for _, t in await door.history(http, server)] == [
        "before", "during join", "before read", "after read", "during join", "end"]


@pytest.mark.parametrize("door_class", DOORS, ids=lambda d: d.name)
@pytest_twisted.ensureDeferred
async def test_a_bad_after_is_refused(server, http, ws, door_class):
    door = await door_class().setup(http, server, users=2)
    for bad in ("x", "-1", "1" * 19):
        with pytest.raises(HandshakeRefused) as refused:
            await ws(door.url(server, 0, after=bad))
        assert refused.value.status == 400


@pytest_twisted.ensureDeferred
async def test_a_chat_that_cannot_be_followed_refuses_the_socket_and_the_next_one_follows_it(server, http, ws):
    door = await RoomsChat().setup(http, server)
    store = server.services.chat_store
    newest_id = store.newest_id

    def broken(chat_id):
        store.newest_id = newest_id
        return defer.fail(RuntimeError("database gone"))

    store.newest_id = broken
    with pytest.raises(HandshakeRefused) as refused:
        await ws(door.url(server, 1))
    assert refused.value.status == 500 and server.services.hub.feed(door.chat_id) is None
    writer, listener = await ws(door.url(server, 0)), await ws(door.url(server, 1))
    await post_all(door, writer, listener, ["after all"])


# -- acknowledgement and idempotency ---------------------------------------------------------
@pytest_twisted.ensureDeferred
async def test_rooms_client_id_is_acknowledged_and_stored_once(server, http, ws):
    door = await RoomsChat().setup(http, server)
    sender = await ws(door.url(server, 0))
    listener = await ws(door.url(server, 1))
    sender.send_json({"text": "hello", "client_id": "c-1"})
    ack = await sender.next_json()
    assert set(ack) == {"ack", "id"} and ack["ack"] == "c-1"
    got = await listener.next_json()
    assert (got["id"], got["text"]) == (ack["id"], "hello")

    # sent again (same socket, then a new one after a reconnect): the first id, nothing stored
    # or delivered again
    sender.send_json({"text": "hello", "client_id": "c-1"})
    assert await sender.next_json() == {"ack": "c-1", "id": ack["id"]}
    again = await ws(door.url(server, 0))
    again.send_json({"text": "hello (edited)", "client_id": "c-1"})
    assert await again.next_json() == {"ack": "c-1", "id": ack["id"]}
    # the same client_id from another user is another message; a frame without one is as before
    other = await ws(door.url(server, 2))
    other.send_json({"text": "mine", "client_id": "c-1"})
    mine = await other.next_json()
    assert mine["ack"] == "c-1" and mine["id"] > ack["id"]
    assert (await sender.next_json())["id"] == mine["id"]  # user 0 hears user 2's message
    sender.send_json({"text": "plain"})
    assert [m["text"] for m in [await listener.next_json(), await listener.next_json()]] == ["mine", "plain"]
    assert [t for _, t in await door.history(http, server)] == ["hello", "mine", "plain"]
    # no echo is per socket: the same user's other socket hears the message
    assert [m["text"] for m in [await again.next_json(), await again.next_json()]] == ["mine", "plain"]
    assert sender.pending() == 0 and listener.pending() == 0 and again.pending() == 0

    # a bad client_id changes nothing
    for bad in ("", "x" * 65, 5, ["c"]):
        sender.send_json({"text": "no", "client_id": bad})
        assert await sender.next_json() == {"error": {"code": "invalid_client_id"}}
    sender.send_json({"client_id": "c-2"})
    assert await sender.next_json() == {"error": {"code": "invalid_json"}, "client_id": "c-2"}
    assert len(await door.history(http, server)) == 3


@pytest_twisted.ensureDeferred
async def test_directory_client_id_comes_back_on_the_senders_copy_only(server, http, ws):
    door = await LobbyChat().setup(http, server)
    sender = await ws(door.url(server, 0))
    listener = await ws(door.url(server, 1))
    sender.send_json({"message": "hello", "client_id": "k1"})
    own = await sender.next_json()
    assert own == {"id": own["id"], "user": "user0@example.com", "message": "hello", "client_id": "k1"}
    assert await listener.next_json() == {"id": own["id"], "user": "user0@example.com", "message": "hello"}

    # a repeat is answered with the sender's copy of the first message; nobody else hears it
    again = await ws(door.url(server, 0))
    again.send_json({"message": "hello?", "client_id": "k1"})
    assert await again.next_json() == own
    sender.send_json({"message": "next"})
    nxt = await listener.next_json()
    assert nxt["message"] == "next" and nxt["id"] > own["id"]
    assert await sender.next_json() == nxt  # no client_id sent: the sender's copy is everyone's
    assert await again.next_json() == nxt
    assert [t for _, t in await door.history(http, server)] == ["hello", "next"]

    sender.send_json({"message": "", "client_id": "k2"})
    assert await sender.next_json() == {"error": 'Send {"message": "<text>"}.', "client_id": "k2"}
    sender.send_json({"message": "x", "client_id": "y" * 65})
    assert "error" in await sender.next_json()
    assert listener.pending() == 0


@pytest.mark.parametrize("door_class", [RoomsChat, LobbyChat], ids=lambda d: d.name)
@pytest_twisted.ensureDeferred
async def test_a_message_stored_whose_answer_was_lost_reaches_everyone_when_sent_again(
        start_server, clock, http, ws, door_class):
    """The database stored the message but its answer was lost (the connection dropped after the
    commit): the sender is told it was not stored and sends it again. The repeat is published, so
    every socket gets it now (not when a next message shows the gap), and the sender's socket
    gets nothing but the answer to its repeat."""
    server = await start_server(clock=clock)  # gap timers wait on `clock`: only a publish delivers
    door = await door_class().setup(http, server)
    sender, listener = await ws(door.url(server, 0)), await ws(door.url(server, 1))
    field = "text" if door.name == "rooms" else "message"
    store = server.services.chats.store
    insert_message = store.insert_message

    def answer_lost(*args, **kwargs):
        def lost(_):
            raise ConnectionError("server closed the connection unexpectedly")

        return insert_message(*args, **kwargs).addCallback(lost)

    store.insert_message = answer_lost
    try:
        sender.send_json({field: "hello", "client_id": "k1"})
        refused = await sender.next_json()
        assert "error" in refused and refused["client_id"] == "k1"
    finally:
        store.insert_message = insert_message
    assert [t for _, t in await door.history(http, server)] == ["hello"]  # stored all the same

    sender.send_json({field: "hello", "client_id": "k1"})
    answer = await sender.next_json()
    got = await frames(door, listener, 1)
    assert got == [(answer["id"], "hello")]
    if door.name == "rooms":
        assert answer == {"ack": "k1", "id": got[0][0]}
    else:
        assert answer == {"id": got[0][0], "user": "user0@example.com", "message": "hello", "client_id": "k1"}
    door.send(listener, "next")
    assert [t for _, t in await frames(door, sender, 1)] == ["next"]
    assert sender.pending() == 0
    assert [t for _, t in await door.history(http, server)] == ["hello", "next"]


@pytest.mark.parametrize("door_class", [RoomsChat, LobbyChat], ids=lambda d: d.name)
@pytest_twisted.ensureDeferred
async def test_a_message_that_cannot_be_stored_is_answered_and_the_socket_stays_open(server, http, ws, door_class):
    door = await door_class().setup(http, server)
    sender = await ws(door.url(server, 0))
    listener = await ws(door.url(server, 1))
    store = server.services.chat_store
    insert = store.insert_message

    def broken(*args, **kwargs):
        store.insert_message = insert
        return defer.fail(RuntimeError("database gone"))

    store.insert_message = broken
    if door.name == "rooms":
        sender.send_json({"text": "lost", "client_id": "c-9"})
        assert await sender.next_json() == {"error": {"code": "message_not_stored"}, "client_id": "c-9"}
        sender.send_json({"text": "kept", "client_id": "c-9"})
        assert (await sender.next_json())["ack"] == "c-9"
    else:
        sender.send_json({"message": "lost", "client_id": "c-9"})
        assert await sender.next_json() == {"error": "The message could not be stored.", "client_id": "c-9"}
        sender.send_json({"message": "kept", "client_id": "c-9"})
        assert (await sender.next_json())["client_id"] == "c-9"
    assert [t for _, t in await frames(door, listener, 1)] == ["kept"]
    assert [t for _, t in await door.history(http, server)] == ["kept"]
    assert listener.pending() == 0


@pytest_twisted.ensureDeferred
async def test_a_social_message_that_cannot_be_stored_closes_with_try_again_and_the_resume_shows_it_missing(
        server, http, ws):
    door = await SocialChat().setup(http, server)
    sender = await ws(door.url(server, 0))
    listener = await ws(door.url(server, 1))
    await post_all(door, sender, listener, ["first"])
    store = server.services.chat_store
    insert = store.insert_message

    def broken(*args, **kwargs):
        store.insert_message = insert
        return defer.fail(RuntimeError("database gone"))

    store.insert_message = broken
    door.send(sender, "lost")
    assert await sender.wait_closed() == 4013  # try again later, not the 4500 of a crash
    stored = await door.history(http, server)
    assert [t for _, t in stored] == ["first"]
    again = await ws(door.url(server, 0, after=stored[-1][0]))
    door.send(again, "kept")
    assert [t for _, t in await frames(door, listener, 1)] == ["kept"]
    assert listener.pending() == 0


# -- per-chat id order -----------------------------------------------------------------------
@pytest.mark.parametrize("door_class", DOORS, ids=lambda d: d.name)
@pytest_twisted.ensureDeferred
async def test_a_late_frame_is_delivered_before_the_next_one(server, http, ws, door_class):
    """Two writers: the first message's publish comes after the second's. Every socket still
    gets the first one first."""
    door = await door_class().setup(http, server)
    first_writer, second_writer = await ws(door.url(server, 0)), await ws(door.url(server, 1))
    listener = await ws(door.url(server, 2))
    held = []

    def hook(call, channel, payload, publish):
        if call == 1:
            d = defer.Deferred()
            held.append((channel, payload, d))
            return d
        done = publish(channel, payload)
        channel, payload, d = held.pop()
        publish(channel, payload).chainDeferred(d)  # the first one, now
        return done

    bus = HeldBus(server, hook)
    try:
        door.send(first_writer, "first")
        await until(lambda: bus.calls == 1)
        door.send(second_writer, "second")
        got = await frames(door, listener, 2)
    finally:
        bus.restore()
    assert [t for _, t in got] == ["first", "second"]
    if door.name != "social":
        assert got[0][0] < got[1][0]
    if door.name == "rooms":  # no echo: each writer hears only the other
        assert [t for _, t in await frames(door, first_writer, 1)] == ["second"]
        assert [t for _, t in await frames(door, second_writer, 1)] == ["first"]
    else:
        for sock in (first_writer, second_writer):
            assert [t for _, t in await frames(door, sock, 2)] == ["first", "second"]
    for sock in (first_writer, second_writer, listener):
        assert sock.pending() == 0


@pytest.mark.parametrize("door_class", DOORS, ids=lambda d: d.name)
@pytest_twisted.ensureDeferred
async def test_a_lost_frame_is_read_from_the_database(start_server, clock, http, ws, door_class):
    """The first message's publish vanishes: when the next frame has waited GAP_WAIT for it,
    the feed reads it from the database, and delivers both in order."""
    from meetsrv.ws.feed import GAP_WAIT

    server = await start_server(clock=clock)
    door = await door_class().setup(http, server)
    first_writer, second_writer = await ws(door.url(server, 0)), await ws(door.url(server, 1))
    listener = await ws(door.url(server, 2))
    bus = HeldBus(server, lambda call, channel, payload, publish:
                  defer.succeed(None) if call == 1 else publish(channel, payload))
    try:
        door.send(first_writer, "first")
        await until(lambda: bus.calls == 1)
        door.send(second_writer, "second")
        feed = server.services.hub.feed(door.chat_id)
        await until(lambda: feed.pending)  # "second" waits for "first"
        assert listener.pending() == 0
        clock.advance(GAP_WAIT)
        assert [t for _, t in await frames(door, listener, 2)] == ["first", "second"]
    finally:
        bus.restore()
    if door.name == "rooms":  # read from the database, still no echo to its sender
        assert [t for _, t in await frames(door, first_writer, 1)] == ["second"]
    else:
        assert [t for _, t in await frames(door, first_writer, 2)] == ["first", "second"]
    door.send(second_writer, "third")
    for sock in (listener, first_writer):
        assert [t for _, t in await frames(door, sock, 1)] == ["third"]
        assert sock.pending() == 0


@pytest_twisted.ensureDeferred
async def test_a_refused_publish_is_tried_again(start_server, clock, http, ws):
    """Nothing follows the message whose publish failed: it is published again later."""
    server = await start_server(clock=clock)
    door = await RoomsChat().setup(http, server)
    writer, listener = await ws(door.url(server, 0)), await ws(door.url(server, 1))

    def hook(call, channel, payload, publish):
        if call == 1:
            raise ConnectionError("bus away")
        return publish(channel, payload)

    bus = HeldBus(server, hook)
    try:
        writer.send_json({"text": "only", "client_id": "c"})
        ack = await writer.next_json()  # stored and acknowledged, though not published yet
        assert ack["ack"] == "c" and bus.calls == 1 and listener.pending() == 0
        clock.advance(1.0)
        got = await listener.next_json()
        assert (got["id"], got["text"]) == (ack["id"], "only") and bus.calls == 2
    finally:
        bus.restore()


two_processes = pytest.mark.skipif(not (PG and REDIS), reason="two processes need MEETSRV_TEST_POSTGRES and MEETSRV_TEST_REDIS")


@two_processes
@pytest.mark.parametrize("door_class", [RoomsChat, LobbyChat], ids=lambda d: d.name)
@pytest_twisted.ensureDeferred
async def test_several_writers_on_two_processes_every_socket_in_id_order(start_server, http, ws, door_class):
    one, two = await start_server(), await start_server()
    door = await door_class().setup(http, one, users=5)
    writers = [await ws(door.url(server, who)) for who, server in ((0, one), (1, one), (2, two), (3, two))]
    listeners = [await ws(door.url(one, 4)), await ws(door.url(two, 4))]
    per_writer = 20
    for i in range(per_writer):
        for w, sock in enumerate(writers):
            door.send(sock, f"w{w}-{i}")
    total = per_writer * len(writers)
    everything = []
    for listener in listeners:
        got = await frames(door, listener, total)
        ids = [i for i, _ in got]
        assert ids == sorted(set(ids)), "in id order, each once"
        assert sorted(t for _, t in got) == sorted(f"w{w}-{i}" for w in range(4) for i in range(per_writer))
        for w in range(4):  # each writer's messages in the order it sent them
            assert [t for _, t in got if t.startswith(f"w{w}-")] == [f"w{w}-{i}" for i in range(per_writer)]
        everything.append(got)
        assert listener.pending() == 0
    assert everything[0] == everything[1]
    # the order every socket saw is the order they are stored in
    stored = await ws(door.url(two, 4, after=0))
    assert await frames(door, stored, total) == everything[0]


@two_processes
@pytest_twisted.ensureDeferred
async def test_a_late_frame_from_another_process_keeps_its_place(start_server, http, ws):
    one, two = await start_server(), await start_server()
    door = await RoomsChat().setup(http, one, users=4)
    first_writer, second_writer = await ws(door.url(one, 0)), await ws(door.url(two, 1))
    listeners = [await ws(door.url(one, 2)), await ws(door.url(two, 3))]
    held = []

    def hook(call, channel, payload, publish):
        d = defer.Deferred()
        held.append((channel, payload, publish, d))
        return d

    bus = HeldBus(one, hook)
    try:
        door.send(first_writer, "first")
        await until(lambda: bus.calls == 1)
        door.send(second_writer, "second")
        # "second" reached both processes and waits there for "first"
        await until(lambda: all(s.services.hub.feed(door.chat_id).pending for s in (one, two)))
        channel, payload, publish, d = held.pop()
        publish(channel, payload).chainDeferred(d)
        for listener in listeners:
            got = await frames(door, listener, 2)
            assert [t for _, t in got] == ["first", "second"] and got[0][0] < got[1][0]
    finally:
        bus.restore()


# -- unread ------------------------------------------------------------------------------------
@pytest_twisted.ensureDeferred
async def test_rooms_unread_counts_move_with_reading(server, http, ws):
    door = await RoomsChat().setup(http, server)
    a, b = door.tokens[0], door.tokens[1]

    async def unread(token):
        r = await http.get(server.url + "/v1/rooms", headers=rooms_auth(token))
        assert r.code == 200 and set(r.json[0]) == {"id", "users", "unread"}
        return {room["id"]: room["unread"] for room in r.json}[door.chat_id]

    writer, reader = await ws(door.url(server, 0)), await ws(door.url(server, 1))
    assert (await unread(a), await unread(b)) == (0, 0)
    await post_all(door, writer, reader, ["m1", "m2", "m3"])
    assert (await unread(a), await unread(b)) == (0, 3)  # one's own messages are never unread

    # reading an older page moves nothing; the newest page reads everything
    first = (await door.history(http, server))[0][0]
    r = await http.get(server.url + f"/v1/rooms/{door.chat_id}/messages", params={"before": str(first + 1)},
                       headers=rooms_auth(b))
    assert [m["text"] for m in r.json] == ["m1"] and await unread(b) == 3
    r = await http.get(server.url + f"/v1/rooms/{door.chat_id}/messages", headers=rooms_auth(b))
    assert [m["text"] for m in r.json] == ["m1", "m2", "m3"] and await unread(b) == 0

    await post_all(door, writer, reader, ["m4", "m5"])
    m4, m5 = [i for i, _ in (await door.history(http, server))[-2:]]
    assert await unread(b) == 2
    reader.send_json({"read": m4})
    reader.send_json({"read": 999999999})
    assert await reader.next_json() == {"error": {"code": "message_not_found"}}  # after the first
    assert await unread(b) == 1
    reader.send_json({"read": first})  # never backwards
    reader.send_json({"read": "soon"})
    assert await reader.next_json() == {"error": {"code": "invalid_json"}}
    assert await unread(b) == 1
    reader.send_json({"read": m5})
    reader.send_json({"read": "soon"})  # a socket handles its frames in order: once this is
    assert await reader.next_json() == {"error": {"code": "invalid_json"}}  # answered, m5 is read
    await post_all(door, writer, reader, ["m6"])
    assert (await unread(a), await unread(b)) == (0, 1)
    assert reader.pending() == 0

    # a socket of someone else's room cannot mark it: the message is not in the caller's room
    other = await RoomsChat().setup(http, server, users=2, prefix="other")
    other_sock = await ws(other.url(server, 0))
    other_sock.send_json({"read": (await door.history(http, server))[-1][0]})
    assert await other_sock.next_json() == {"error": {"code": "message_not_found"}}


@pytest_twisted.ensureDeferred
async def test_social_unread_counts_move_with_reading(server, http, ws):
    door = await SocialChat().setup(http, server)
    owner, member_token = door.tokens[0], door.tokens[1]

    async def unread(token):
        chats = (await http.get(server.url + "/chats-list/", headers=social_auth(token))).json
        return {c["id"]: c["unread"] for c in chats}[door.chat_id]

    writer, reader = await ws(door.url(server, 0)), await ws(door.url(server, 1))
    await post_all(door, writer, reader, ["a", "b"])
    await frames(door, writer, 2)  # its own, relayed back
    assert (await unread(owner), await unread(member_token)) == (0, 2)
    r = await http.get(server.url + f"/message-list/{door.chat_id}/", headers=social_auth(member_token))
    assert [m["text"] for m in r.json] == ["a", "b"]
    assert (await unread(owner), await unread(member_token)) == (0, 0)
    await post_all(door, reader, writer, ["c"])
    assert (await unread(owner), await unread(member_token), await unread(door.tokens[2])) == (1, 0, 3)

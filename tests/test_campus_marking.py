"""The campus marking WebSockets (/ws/mark_me, /ws/marking) with several clients, races included."""

from __future__ import annotations

import pytest
import pytest_twisted

from tests.clients.base import http  # noqa: F401  (no shared cookie jar)
from tests.clients.campus import create_event, signup
from tests.support.backends import REDIS

DISPLAY = {
    "Ты такой молодец, я не могу! ^_^' +50 к карме!",
    "Круто! +50 к карме!",
    "Огонь! +50 к карме!",
    "От души! +50 к карме!",
}


def ws_url(server, kind, event_id=None):
    base = f"{server.ws_url}/ws/{kind}"
    return base if event_id is None else f"{base}?event_id={event_id}"


async def refused(ws, url, headers, message):
    """The socket opens, gets one error frame, and is closed."""
    sock = await ws(url, headers=headers)
    assert await sock.next_json() == {"result": "error", "message": message}
    await sock.wait_closed()
    assert sock.pending() == 0


async def running_event(http, server, clock, members=("anna", "boris", "clara", "dima")):
    """A creator and members joined to an event that is running now."""
    creator = await signup(http, server, "creator")
    now = int(clock.seconds())
    event_id = await create_event(creator, "Матанализ", now + 60, now + 3600)
    users = []
    for name in members:
        u = await signup(http, server, name)
        assert await u.post("/api/events/JoinEvent", {"event_id": event_id}) == {"error": 0, "error_msg": ""}
        users.append(u)
    clock.advance(61)
    return creator, event_id, users


async def karma(user):
    return (await user.get("/api/profile/GetProfile", params={"user_id": user.id}))["response"]["karma"]


@pytest_twisted.ensureDeferred
async def test_connect_refusals(start_server, http, ws, clock):
    server = await start_server(clock=clock)
    creator = await signup(http, server, "creator")
    member = await signup(http, server, "member")
    now = int(clock.seconds())
    event_id = await create_event(creator, "Физика", now + 60, now + 120)

    h = creator.ws_headers()
    for kind in ("mark_me", "marking"):
        await refused(ws, ws_url(server, kind), h, "Выбери пару")
        await refused(ws, ws_url(server, kind) + f"?event_id={event_id}&event_id={event_id}", h, "Выбери пару")
        await refused(ws, ws_url(server, kind, "nope"), h, "Кажеся, пары не существует")
        await refused(ws, ws_url(server, kind, "00000000-0000-0000-0000-000000000000"), h, "Кажеся, пары не существует")
        # signed out, a bad session, a bad token
        await refused(ws, ws_url(server, kind, event_id), {}, "Нельзя так!")
        await refused(ws, ws_url(server, kind, event_id), {"Cookie": "sessionid=bad"}, "Нельзя так!")
        await refused(ws, ws_url(server, kind, event_id), {"Authorization": "Token bad"}, "Нельзя так!")
    # the cookie of a page from another site is not accepted (cross-site WebSocket hijacking)
    evil = dict(member.ws_headers(), Origin="http://evil.example")
    await refused(ws, ws_url(server, "mark_me", event_id), evil, "Нельзя так!")
    # not started yet: marking refused, mark_me allowed
    await refused(ws, ws_url(server, "marking", event_id), h, "Сейчас эта пара не идет")
    port = server.port.getHost().port
    same = dict(member.ws_headers(), Origin=f"http://localhost:{port}")
    sock = await ws(ws_url(server, "mark_me", event_id), headers=same)
    # a user who asked to be marked may connect to neither socket again
    await refused(ws, ws_url(server, "mark_me", event_id), member.ws_headers(), "Нельзя так!")
    clock.advance(61)
    await refused(ws, ws_url(server, "marking", event_id), member.ws_headers(), "Нельзя так!")
    # the creator (a member) marks; the list holds the waiting member
    marker = await ws(ws_url(server, "marking", event_id), headers=h)
    assert await marker.next_json() == {"result": "ok", "message": "marking_list",
                                        "params": {"marking_list": [member.id]}}
    assert sock.pending() == 0
    clock.advance(120)
    await refused(ws, ws_url(server, "marking", event_id), h, "Пара уже закончилась")
    await refused(ws, ws_url(server, "mark_me", event_id), h, "Пара уже закончилась")


@pytest_twisted.ensureDeferred
async def test_any_signed_in_user_may_open_either_socket(start_server, http, ws, clock):
    """The MarkAsVisited client opens the sockets without joining the event first: neither the
    student who asks to be marked nor the marker needs to be a member (as upstream)."""
    server = await start_server(clock=clock)
    creator = await signup(http, server, "creator")
    student = await signup(http, server, "student")
    marker = await signup(http, server, "marker")
    now = int(clock.seconds())
    event_id = await create_event(creator, "Алгебра", now + 60, now + 3600)
    # neither ever joined the event
    for user in (student, marker):
        assert (await user.get("/api/events/GetJoinedEvents"))["response"] == []

    # mark_me before the start (allowed), marking once it runs
    student_ws = await ws(ws_url(server, "mark_me", event_id), headers=student.ws_headers())
    clock.advance(61)
    marker_ws = await ws(ws_url(server, "marking", event_id), headers=marker.ws_headers())
    assert await marker_ws.next_json() == {"result": "ok", "message": "marking_list",
                                           "params": {"marking_list": [student.id]}}
    marker_ws.send_json({"message": "prepare_to_mark", "params": {"user_id": student.id}})
    assert await marker_ws.next_json() == {"result": "ok", "message": "prepared"}
    marker_ws.send_json({"message": "confirm_marking"})
    assert (await marker_ws.next_json())["message"] == "marked"
    assert await student_ws.next_json() == {"result": "ok", "message": "was_marked", "params": {"user_id": marker.id}}
    await student_ws.wait_closed()
    assert await karma(marker) == 50
    # opening a socket did not make them members
    for user in (student, marker):
        assert (await user.get("/api/events/GetJoinedEvents"))["response"] == []
    # the other checks stay: the student who asked may not come back, anonymous callers are refused
    await refused(ws, ws_url(server, "mark_me", event_id), student.ws_headers(), "Нельзя так!")
    await refused(ws, ws_url(server, "marking", event_id), {}, "Нельзя так!")
    # an Authorization: Token header signs in too
    token_ws = await ws(ws_url(server, "marking", event_id),
                        headers={"Authorization": f"Token {creator.cookies['sessionid']}"})
    assert (await token_ws.next_json())["params"] == {"marking_list": []}


@pytest_twisted.ensureDeferred
async def test_whole_marking_handshake(start_server, http, ws, clock):
    server = await start_server(clock=clock)
    creator, event_id, (anna, boris, clara, dima) = await running_event(http, server, clock)

    # anna waits first; the creator marks (with a Token header); clara marks too
    anna_ws = await ws(ws_url(server, "mark_me", event_id), headers=anna.ws_headers())
    c_ws = await ws(ws_url(server, "marking", event_id),
                    headers={"Authorization": f"Token {creator.cookies['sessionid']}"})
    assert await c_ws.next_json() == {"result": "ok", "message": "marking_list", "params": {"marking_list": [anna.id]}}
    clara_ws = await ws(ws_url(server, "marking", event_id), headers=clara.ws_headers())
    assert (await clara_ws.next_json())["params"] == {"marking_list": [anna.id]}

    # boris comes: every marker hears of him
    boris_ws = await ws(ws_url(server, "mark_me", event_id), headers=boris.ws_headers())
    joined = {"result": "ok", "message": "user_joined", "params": {"user_id": boris.id}}
    assert await c_ws.next_json() == joined
    assert await clara_ws.next_json() == joined
    # a marker who comes now sees both
    dima_ws = await ws(ws_url(server, "marking", event_id), headers=dima.ws_headers())
    assert sorted((await dima_ws.next_json())["params"]["marking_list"]) == sorted([anna.id, boris.id])

    # bad frames
    for frame in ("not json", "[]", "{}", '{"message": "dance"}'):
        c_ws.send_text(frame)
        assert await c_ws.next_json() == {"result": "error", "message": "Нет сообщения"}
    for frame in ({"message": "prepare_to_mark"}, {"message": "prepare_to_mark", "params": {}},
                  {"message": "prepare_to_mark", "params": {"user_id": "x"}}):
        c_ws.send_json(frame)
        assert await c_ws.next_json() == {"result": "error", "message": "user_id is missing"}
    # nothing prepared: confirm and refuse are errors (upstream farmed karma here)
    c_ws.send_json({"message": "confirm_marking"})
    assert await c_ws.next_json() == {"result": "error", "message": "Нельзя так!"}
    c_ws.send_json({"message": "refuse_to_mark"})
    assert await c_ws.next_json() == {"result": "error", "message": "Нельзя так!"}
    assert await karma(creator) == 0

    # the creator prepares anna: the other markers see her leave the list
    c_ws.send_json({"message": "prepare_to_mark", "params": {"user_id": anna.id}})
    assert await c_ws.next_json() == {"result": "ok", "message": "prepared"}
    left = {"result": "ok", "message": "user_left", "params": {"user_id": anna.id}}
    assert await clara_ws.next_json() == left
    assert await dima_ws.next_json() == left
    # nobody else may take her; the creator holds one user at a time
    clara_ws.send_json({"message": "prepare_to_mark", "params": {"user_id": anna.id}})
    assert await clara_ws.next_json() == {"result": "error", "message": "Его уже отмечают"}
    c_ws.send_json({"message": "prepare_to_mark", "params": {"user_id": boris.id}})
    assert await c_ws.next_json() == {"result": "error", "message": "Ты уже выбрал пользователя"}
    # nobody marks themselves
    clara_ws.send_json({"message": "prepare_to_mark", "params": {"user_id": clara.id}})
    assert await clara_ws.next_json() == {"result": "error", "message": "Его уже отмечают"}

    # confirm: the marker is thanked, anna (only anna) learns who marked her and her socket closes
    c_ws.send_json({"message": "confirm_marking"})
    marked = await c_ws.next_json()
    assert marked["result"] == "ok" and marked["message"] == "marked" and marked["params"]["display_msg"] in DISPLAY
    assert await anna_ws.next_json() == {"result": "ok", "message": "was_marked", "params": {"user_id": creator.id}}
    await anna_ws.wait_closed()
    assert await karma(creator) == 50 and await karma(anna) == 0
    rows = await server.services.marking.store.of_meeting(
        (await server.services.campus_events.get(event_id))["id"])
    assert [(r["marker_id"], r["marked_id"]) for r in rows] == [(creator.id, anna.id)]

    # refuse: clara prepares boris, then lets him go; the others see him leave and come back
    clara_ws.send_json({"message": "prepare_to_mark", "params": {"user_id": str(boris.id)}})
    assert await clara_ws.next_json() == {"result": "ok", "message": "prepared"}
    left_b = {"result": "ok", "message": "user_left", "params": {"user_id": boris.id}}
    assert await c_ws.next_json() == left_b and await dima_ws.next_json() == left_b
    clara_ws.send_json({"message": "refuse_to_mark"})
    assert await clara_ws.next_json() == {"result": "ok", "message": "refused"}
    assert await c_ws.next_json() == joined and await dima_ws.next_json() == joined

    # dima marks boris: boris's first and only frame is his own was_marked (not anna's)
    dima_ws.send_json({"message": "prepare_to_mark", "params": {"user_id": boris.id}})
    assert await dima_ws.next_json() == {"result": "ok", "message": "prepared"}
    dima_ws.send_json({"message": "confirm_marking"})
    assert (await dima_ws.next_json())["message"] == "marked"
    assert await c_ws.next_json() == left_b and await clara_ws.next_json() == left_b
    assert await boris_ws.next_json() == {"result": "ok", "message": "was_marked", "params": {"user_id": dima.id}}
    await boris_ws.wait_closed()
    assert await karma(dima) == 50 and await karma(clara) == 0
    # confirming again with nothing prepared changes nothing
    dima_ws.send_json({"message": "confirm_marking"})
    assert await dima_ws.next_json() == {"result": "error", "message": "Нельзя так!"}
    assert await karma(dima) == 50
    # boris asked once: he may not come back
    await refused(ws, ws_url(server, "mark_me", event_id), boris.ws_headers(), "Нельзя так!")
    # a new marker finds the list empty
    late = await ws(ws_url(server, "marking", event_id), headers=creator.ws_headers())
    assert await late.next_json() == {"result": "ok", "message": "marking_list", "params": {"marking_list": []}}
    assert c_ws.pending() == clara_ws.pending() == dima_ws.pending() == 0


@pytest_twisted.ensureDeferred
async def test_two_markers_prepare_the_same_user_at_once(start_server, http, ws, clock):
    server = await start_server(clock=clock)
    creator, event_id, (anna, boris, clara, dima) = await running_event(http, server, clock)
    anna_ws = await ws(ws_url(server, "mark_me", event_id), headers=anna.ws_headers())
    markers = []
    for u in (creator, boris, clara, dima):
        sock = await ws(ws_url(server, "marking", event_id), headers=u.ws_headers())
        assert (await sock.next_json())["params"]["marking_list"] == [anna.id]
        markers.append(sock)
    for sock in markers:
        sock.send_json({"message": "prepare_to_mark", "params": {"user_id": anna.id}})
    prepared = {"result": "ok", "message": "prepared"}
    taken = {"result": "error", "message": "Его уже отмечают"}
    left = {"result": "ok", "message": "user_left", "params": {"user_id": anna.id}}
    winners = []
    for i, sock in enumerate(markers):
        first = await sock.next_json()
        if first == prepared:
            winners.append(i)
            continue
        # a loser hears its refusal and the winner's user_left, in either order
        frames = [first, await sock.next_json()]
        assert frames in ([taken, left], [left, taken]), frames
    assert len(winners) == 1
    winner = markers[winners[0]]
    winner.send_json({"message": "confirm_marking"})
    assert (await winner.next_json())["message"] == "marked"
    assert (await anna_ws.next_json())["message"] == "was_marked"
    users = (creator, boris, clara, dima)
    assert sorted([await karma(u) for u in users]) == [0, 0, 0, 50]
    assert [sock.pending() for sock in markers] == [0, 0, 0, 0], [list(s.proto.messages.pending) for s in markers]


@pytest_twisted.ensureDeferred
async def test_marker_who_leaves_returns_the_held_user(start_server, http, ws, clock):
    server = await start_server(clock=clock)
    creator, event_id, (anna, boris, clara, dima) = await running_event(http, server, clock)
    anna_ws = await ws(ws_url(server, "mark_me", event_id), headers=anna.ws_headers())
    holder = await ws(ws_url(server, "marking", event_id), headers=boris.ws_headers())
    other = await ws(ws_url(server, "marking", event_id), headers=clara.ws_headers())
    await holder.next_json()
    await other.next_json()
    holder.send_json({"message": "prepare_to_mark", "params": {"user_id": anna.id}})
    assert await holder.next_json() == {"result": "ok", "message": "prepared"}
    assert await other.next_json() == {"result": "ok", "message": "user_left", "params": {"user_id": anna.id}}
    await holder.close()
    assert await other.next_json() == {"result": "ok", "message": "user_joined", "params": {"user_id": anna.id}}
    fresh = await ws(ws_url(server, "marking", event_id), headers=dima.ws_headers())
    assert (await fresh.next_json())["params"]["marking_list"] == [anna.id]
    # and she can be marked by someone else
    other.send_json({"message": "prepare_to_mark", "params": {"user_id": anna.id}})
    assert await other.next_json() == {"result": "ok", "message": "prepared"}
    other.send_json({"message": "confirm_marking"})
    assert (await other.next_json())["message"] == "marked"
    assert await anna_ws.next_json() == {"result": "ok", "message": "was_marked", "params": {"user_id": clara.id}}
    assert await karma(clara) == 50 and await karma(boris) == 0


@pytest_twisted.ensureDeferred
async def test_marker_dropping_while_preparing_does_not_lose_the_user(start_server, http, ws, clock):
    """The socket goes away right after asking: the held user still comes back."""
    server = await start_server(clock=clock)
    creator, event_id, (anna, boris, clara, dima) = await running_event(http, server, clock)
    await ws(ws_url(server, "mark_me", event_id), headers=anna.ws_headers())
    holder = await ws(ws_url(server, "marking", event_id), headers=boris.ws_headers())
    watcher = await ws(ws_url(server, "marking", event_id), headers=clara.ws_headers())
    await holder.next_json()
    await watcher.next_json()
    holder.send_json({"message": "prepare_to_mark", "params": {"user_id": anna.id}})
    holder.proto.dropConnection()
    frames = [await watcher.next_json(), await watcher.next_json()]
    assert frames == [{"result": "ok", "message": "user_left", "params": {"user_id": anna.id}},
                      {"result": "ok", "message": "user_joined", "params": {"user_id": anna.id}}]
    assert await server.services.marking.waiting(await server.services.campus_events.get(event_id)) == [anna.id]


@pytest.mark.skipif(not REDIS, reason="two processes meet through Redis (MEETSRV_TEST_REDIS)")
@pytest_twisted.ensureDeferred
async def test_marker_and_marked_user_on_different_processes(start_server, http, ws, clock):
    one = await start_server(clock=clock)
    two = await start_server(clock=clock)  # same database, same Redis prefix
    creator, event_id, (anna, boris, clara, dima) = await running_event(http, one, clock)
    anna_ws = await ws(ws_url(one, "mark_me", event_id), headers=anna.ws_headers())
    marker = await ws(ws_url(two, "marking", event_id), headers=boris.ws_headers())
    watcher = await ws(ws_url(one, "marking", event_id), headers=clara.ws_headers())
    assert (await marker.next_json())["params"]["marking_list"] == [anna.id]
    assert (await watcher.next_json())["params"]["marking_list"] == [anna.id]
    # dima waits on process two; the marker on two and the watcher on one both hear of him
    dima_ws = await ws(ws_url(two, "mark_me", event_id), headers=dima.ws_headers())
    joined = {"result": "ok", "message": "user_joined", "params": {"user_id": dima.id}}
    assert await marker.next_json() == joined and await watcher.next_json() == joined
    # both processes race for anna: one wins
    marker.send_json({"message": "prepare_to_mark", "params": {"user_id": anna.id}})
    watcher.send_json({"message": "prepare_to_mark", "params": {"user_id": anna.id}})
    prepared = {"result": "ok", "message": "prepared"}
    taken = {"result": "error", "message": "Его уже отмечают"}
    left = {"result": "ok", "message": "user_left", "params": {"user_id": anna.id}}
    first = await marker.next_json()
    winner, winner_user, loser = (marker, boris, watcher) if first == prepared else (watcher, clara, marker)
    if first != prepared:
        # the loser hears its refusal and the winner's user_left, in either order
        frames = [first, await marker.next_json()]
        assert frames in ([taken, left], [left, taken]), frames
        assert await watcher.next_json() == prepared
    else:
        frames = [await watcher.next_json(), await watcher.next_json()]
        assert frames in ([taken, left], [left, taken]), frames
    winner.send_json({"message": "confirm_marking"})
    assert (await winner.next_json())["message"] == "marked"
    assert await anna_ws.next_json() == {"result": "ok", "message": "was_marked", "params": {"user_id": winner_user.id}}
    await anna_ws.wait_closed()
    assert dima_ws.pending() == 0 and loser.pending() == 0
    assert await karma(winner_user) == 50


@pytest_twisted.ensureDeferred
async def test_two_mark_me_sockets_of_one_user_at_once(start_server, http, ws, clock):
    """One user, two simultaneous mark_me sockets: one is listed, the other refused."""
    from twisted.internet import defer

    server = await start_server(clock=clock)
    creator, event_id, (anna, boris) = await running_event(http, server, clock, members=("anna", "boris"))
    url = ws_url(server, "mark_me", event_id)
    socks = await defer.gatherResults([defer.ensureDeferred(ws(url, headers=anna.ws_headers())) for _ in range(2)])
    marker = await ws(ws_url(server, "marking", event_id), headers=boris.ws_headers())
    assert (await marker.next_json())["params"]["marking_list"] == [anna.id]
    marker.send_json({"message": "prepare_to_mark", "params": {"user_id": anna.id}})
    assert await marker.next_json() == {"result": "ok", "message": "prepared"}
    marker.send_json({"message": "confirm_marking"})
    assert (await marker.next_json())["message"] == "marked"
    firsts = [await s.next_json() for s in socks]
    assert sorted(f["message"] for f in firsts) == ["was_marked", "Нельзя так!"]
    for s in socks:
        await s.wait_closed()
        assert s.pending() == 0
    assert await karma(boris) == 50


def test_updates_held_while_the_list_is_read_are_not_repeated():
    import json

    from meetsrv.doors.campus.marking import Frames, MarkingSocket

    class Prepared:
        def __init__(self, text):
            self.payload = text.encode()

    held = [Prepared(f) for f in (Frames.user_joined(1), Frames.user_joined(2), Frames.user_left(2),
                                  Frames.user_left(3), Frames.user_left(1))]
    kept = [json.loads(p.payload) for p in MarkingSocket._news_since([1], held)]
    assert [(k["message"], k["params"]["user_id"]) for k in kept] == [
        ("user_joined", 2), ("user_left", 2), ("user_left", 1)]

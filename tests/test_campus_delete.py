"""Deleting a campus event takes its marking state along (one core call, whoever deletes)."""

from __future__ import annotations

import pytest_twisted

from meetsrv.core.meetings.marking import _asked_key
from tests.clients.base import http  # noqa: F401  (no shared cookie jar)
from tests.clients.campus import create_event, signup

OK = {"error": 0, "error_msg": ""}


@pytest_twisted.ensureDeferred
async def test_deleting_an_event_clears_who_asked_and_who_waits(start_server, http, ws, clock):
    server = await start_server(clock=clock)
    creator = await signup(http, server, "creator")
    anna = await signup(http, server, "anna")
    now = int(clock.seconds())
    event_id = await create_event(creator, "Матанализ", now + 60, now + 3600)
    assert await anna.post("/api/events/JoinEvent", {"event_id": event_id}) == OK
    url = f"{server.ws_url}/ws/mark_me?event_id={event_id}"
    await ws(url, headers=anna.ws_headers())
    # a second socket of anna's is refused once the first has put her on the lists
    again = await ws(url, headers=anna.ws_headers())
    assert await again.next_json() == {"result": "error", "message": "Нельзя так!"}
    event = {"uuid": event_id}
    marking, ephemeral = server.services.marking, server.services.ephemeral
    assert await marking.waiting(event) == [anna.id]
    assert await ephemeral.list_items(_asked_key(event_id)) == [str(anna.id)]

    assert await creator.post("/api/events/DeleteEvent", {"event_id": event_id}) == OK
    assert await marking.waiting(event) == []
    assert await ephemeral.list_items(_asked_key(event_id)) == []
    r = await creator.get("/api/events/GetEventByID", params={"event_id": event_id})
    assert r["error"] == 5

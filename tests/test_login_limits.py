"""One login limiter behind every password sign-in, through a real port: rooms /v1/login, campus
/accounts/login/, directory sign-in and the staff sign-in on /admin/. Time from a task.Clock."""

from __future__ import annotations

import pytest
import pytest_twisted

from meetsrv.core.accounts.limiter import MAX_FAILURES, WINDOW

# a client that keeps no cookies: a campus session cookie would make the next login need CSRF
from tests.clients.base import http  # noqa: F401  (no shared cookie jar)
from tests.clients.staff import STAFF, staff_login


async def rooms(http, server, login, password):
    r = await http.post(server.url + "/v1/login", json_body={"login": login, "password": password})
    if r.code == 429:
        assert r.json == {"error": {"code": "too_many_attempts"}}
        return "limited"
    if r.code == 200:
        return "ok"
    assert r.code == 422 and r.json["error"]["code"] in ("wrong_credentials", "user_not_found"), r.json
    return "wrong"


async def campus(http, server, login, password):
    r = await http.post(server.url + "/accounts/login/", json_body={"username": login, "password": password})
    assert r.code == 200
    return {"": "ok", "Wrong username or password": "wrong",
            "Too many failed logins, try again later": "limited"}[r.json["error_msg"]]


async def directory(http, server, email, password):
    r = await http.post(server.url + "/api/user/sign-in/", json_body={"email": email, "password": password})
    if r.code == 429:
        assert r.json == {"detail": "Request was throttled."}
        return "limited"
    return {200: "ok", 401: "wrong"}[r.code]


async def admin(http, server, email, password):
    r = await staff_login(http, server, email, password)
    if r.code == 429:
        assert b"Too many attempts; try again later." in r.body
        return "limited"
    return {303: "ok", 401: "wrong"}[r.code]


async def users(http, server):
    """A rooms/campus user `petya` and a staff member (directory and /admin/), both with a
    password; the right password per door."""
    r = await http.post(server.url + "/v1/register", json_body={"login": "petya", "password": "secret"})
    assert r.code == 200
    await server.services.directory_accounts.ensure_staff(*STAFF)
    return {rooms: ("petya", "secret"), campus: ("petya", "secret"),
            directory: STAFF, admin: STAFF}


async def tries(door, http, server, login, password, times):
    return [await door(http, server, login, password) for _ in range(times)]


@pytest_twisted.ensureDeferred
async def test_rooms_brute_force_is_refused_until_the_window_passes(start_server, http, clock):
    server = await start_server(clock=clock)
    await users(http, server)
    results = await tries(rooms, http, server, "petya", "guess", 29)
    assert results == ["wrong"] * MAX_FAILURES + ["limited"] * (29 - MAX_FAILURES)
    assert await rooms(http, server, "petya", "secret") == "limited"
    # the window runs from the first failure; refused guesses do not extend it
    clock.advance(WINDOW - 1)
    assert await rooms(http, server, "petya", "secret") == "limited"
    clock.advance(1)
    assert await rooms(http, server, "petya", "secret") == "ok"
    # the lock was on petya only: other names were never held back
    assert await rooms(http, server, "nobody", "x") == "wrong"


@pytest.mark.parametrize("door", [rooms, campus, directory, admin], ids=lambda d: d.__name__)
@pytest_twisted.ensureDeferred
async def test_every_password_path_has_the_one_policy(start_server, http, clock, door):
    server = await start_server(clock=clock)
    login, password = (await users(http, server))[door]
    # only failures count: a right password resets the count, successes never add up
    for _ in range(3):
        assert await tries(door, http, server, login, "guess", MAX_FAILURES - 1) == ["wrong"] * (MAX_FAILURES - 1)
        assert await door(http, server, login, password) == "ok"
    assert await tries(door, http, server, login, password, MAX_FAILURES + 1) == ["ok"] * (MAX_FAILURES + 1)
    assert await tries(door, http, server, login, "guess", MAX_FAILURES) == ["wrong"] * MAX_FAILURES
    assert await door(http, server, login, password) == "limited"
    clock.advance(WINDOW)
    assert await door(http, server, login, password) == "ok"


@pytest_twisted.ensureDeferred
async def test_a_failure_counts_for_the_account_on_every_path(start_server, http, clock):
    server = await start_server(clock=clock)
    await users(http, server)
    r = await http.post(server.url + "/v1/register", json_body={"login": "vasya", "password": "secret"})
    assert r.code == 200
    # usernames: rooms and campus guesses at petya add up (the campus spelling differs in case)
    half = MAX_FAILURES // 2
    assert await tries(rooms, http, server, "petya", "guess", half) == ["wrong"] * half
    assert await tries(campus, http, server, "PETYA", "guess", MAX_FAILURES - half) == ["wrong"] * (MAX_FAILURES - half)
    assert await campus(http, server, "petya", "secret") == "limited"
    assert await rooms(http, server, "petya", "secret") == "limited"
    assert await campus(http, server, "vasya", "secret") == "ok"
    # emails: directory and staff sign-in guesses at the same address add up
    assert await tries(directory, http, server, STAFF[0], "guess", half) == ["wrong"] * half
    assert await tries(admin, http, server, STAFF[0].upper(), "guess", MAX_FAILURES - half) == ["wrong"] * (MAX_FAILURES - half)
    assert await directory(http, server, *STAFF) == "limited"
    assert await admin(http, server, *STAFF) == "limited"
    # a username and an email are different kinds of login name: no count crosses over
    assert await rooms(http, server, "vasya", "secret") == "ok"
    clock.advance(WINDOW)
    # a success on one path resets the account for the others
    assert await tries(directory, http, server, STAFF[0], "guess", MAX_FAILURES - 1) == ["wrong"] * (MAX_FAILURES - 1)
    assert await admin(http, server, *STAFF) == "ok"
    assert await tries(directory, http, server, STAFF[0], "guess", MAX_FAILURES - 1) == ["wrong"] * (MAX_FAILURES - 1)
    assert await directory(http, server, *STAFF) == "ok"

"""Fixtures: a real server on a real port, over SQLite by default, or over PostgreSQL and Redis
when MEETSRV_TEST_POSTGRES and MEETSRV_TEST_REDIS name them (CI sets both).

The reactor is imported inside fixtures only (pytest-twisted installs it first).
"""

from __future__ import annotations

import os
import time
import uuid
from urllib.parse import urlparse, urlunparse

import pytest
import pytest_twisted

from meetsrv.config import Settings
from meetsrv.store.tables import metadata
from tests.support.backends import PG, REDIS


def pytest_report_header(config):
    return f"meetsrv backends: db={'postgresql' if PG else 'sqlite'} bus={'redis' if REDIS else 'in-process'}"


@pytest.fixture(scope="session")
def pg_database():
    """A database of this test run's own on the PostgreSQL server named by MEETSRV_TEST_POSTGRES."""
    if not PG:
        yield None
        return
    import psycopg2

    name = f"meetsrv_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(PG)
    yield urlunparse(parsed._replace(path="/" + name))
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _truncate(url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        existing = {r[0] for r in cur.fetchall()}
        names = [t.name for t in metadata.sorted_tables if t.name in existing]
        if names:
            cur.execute("TRUNCATE " + ", ".join(names) + " RESTART IDENTITY CASCADE")
    conn.close()


@pytest.fixture
def db_url(tmp_path, pg_database):
    if pg_database:
        _truncate(pg_database)
        return pg_database
    return f"sqlite:///{tmp_path}/meetsrv.sqlite3"


@pytest.fixture
def fresh_db_url(tmp_path):
    """A database of this test's own with nothing in it: a new SQLite file, or a new PostgreSQL
    database (dropped at teardown). For tests of migrations and of start-up."""
    if not PG:
        yield f"sqlite:///{tmp_path}/fresh.sqlite3"
        return
    import psycopg2

    name = f"meetsrv_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield urlunparse(urlparse(PG)._replace(path="/" + name))
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def redis_url():
    return REDIS


@pytest.fixture
def make_settings(tmp_path, db_url, redis_url):
    prefix = f"t{uuid.uuid4().hex[:8]}:"

    def make(**overrides) -> Settings:
        values = dict(
            port="tcp:0:interface=127.0.0.1",
            db=db_url,
            redis=redis_url,
            media=str(tmp_path / "media"),
            secret=f"test-secret-{prefix}-0123456789abcdef0123456789abcdef",
            password_cost=2**8,
            redis_prefix=prefix,
            ws_ping_interval=0,
            # the suites log in socially without a verifier and send many SMS codes from one
            # address; test_hardening.py runs the defaults
            social_trust_client=True,
            sms_per_client=0,
            sms_per_minute=0,
        )
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def clock():
    """A task.Clock set to the real time now (times stored read sensibly), advanced by tests."""
    from twisted.internet import task

    c = task.Clock()
    c.advance(time.time())
    return c


@pytest_twisted.async_yield_fixture
async def start_server(make_settings):
    """start_server(clock=None, **settings) -> a running MeetServer; all stopped at teardown."""
    from twisted.internet import reactor

    from meetsrv.service import MeetServer

    started = []

    async def start(clock=None, **overrides):
        server = MeetServer(make_settings(**overrides), reactor, clock)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.stop()


@pytest_twisted.async_yield_fixture
async def server(start_server):
    yield await start_server()


@pytest_twisted.async_yield_fixture
async def http():
    """An HTTP client (treq over a non-persistent pool: no connections left behind)."""
    from tests.clients.base import Http

    client = Http()
    yield client
    await client.close()


@pytest_twisted.async_yield_fixture
async def ws():
    """ws(url, headers=None) -> an open WebSocket client; all closed at teardown."""
    from tests.clients.base import WsClients

    clients = WsClients()
    yield clients.connect
    await clients.close_all()

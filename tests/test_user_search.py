"""User search through the indexes (SQLite FTS5 trigram table, PostgreSQL pg_trgm): the rooms door
`GET /v1/users?q=` and the campus door `FindByName` give exactly the substring answer of a plain
scan (casefolded, Cyrillic too, % and _ literal), stay in sync on rename and delete, and the query
plans really use the indexes."""

from __future__ import annotations

import pytest
import pytest_twisted
from sqlalchemy import delete, select

from meetsrv.store.accounts.users import UserStore, _fts_search_name, _fts_search_username, fold
from meetsrv.store.db import USERS_SEARCH_FTS
from meetsrv.store.tables import users
from tests.clients.base import http  # noqa: F401  (no shared cookie jar)
from tests.clients.campus import signup
from tests.clients.rooms import auth, register

LOGINS = [
    "Вася", "ВАСИЛИСА", "василёк", "Петя", "Ёжик", "ЁЖИК_2", "alice", "ALICE.smith", "Malice",
    "Straße", "STRASSE", "100%_done", "a_b", "a%b", "back\\slash", "abc", "xyzabcxyz", "ab",
]

# a term, its expected hits are computed from LOGINS (substring of the casefolded text)
TERMS = [
    "вас", "ВАСИ", "ёжик", "ЁЖ", "ali", "ALICE", "lice.", "strasse", "ß", "straß", "0%_d", "%", "_",
    "a_b", "a%", "\\", "k\\s", "abc", "bc", "a", "в", "ab", "nothing-here", "Петя", "etя",
]


def expected(names, term):
    """ids of the names containing the term, case-insensitively (casefold), in id order."""
    return [i for i, name in names if fold(term) in fold(name)]


async def all_users(server, column):
    rows = await server.db.rows("test.scan", select(users.c.id, column).order_by(users.c.id))
    return [(r["id"], r[column.name]) for r in rows]


async def rooms_search(http, server, session, term):
    r = await http.get(server.url + "/v1/users", params={"q": term}, headers=auth(session))
    assert r.code == 200, r
    return [u["id"] for u in r.json]


async def campus_search(http, server, term):
    r = await http.get(server.url + "/api/profile/FindByName", params={"display_name_part": term})
    assert r.json["error"] == 0, r.json
    return [u["user_id"] for u in r.json["response"]["users"]]


@pytest_twisted.ensureDeferred
async def test_rooms_search_is_substring_search(server, http):
    sessions = [await register(http, server, login) for login in LOGINS]
    names = await all_users(server, users.c.username)
    assert len(names) == len(LOGINS)
    for term in TERMS:
        assert await rooms_search(http, server, sessions[0], term) == expected(names, term), term
    # sanity: the expectation is not trivially empty
    assert len(expected(names, "вас")) == 3 and len(expected(names, "ali")) == 3
    assert len(expected(names, "strasse")) == 2


@pytest_twisted.ensureDeferred
async def test_campus_find_by_name_is_substring_search(server, http):
    for login in LOGINS:
        await signup(http, server, login)
    names = await all_users(server, users.c.name)
    assert [n for _, n in names] == LOGINS
    for term in TERMS:
        if len(term) < 4:
            continue  # campus refuses parts under 4 characters
        assert await campus_search(http, server, term) == expected(names, term), term
    assert await campus_search(http, server, "ВАСИ") == [names[1][0], names[2][0]]


@pytest_twisted.ensureDeferred
async def test_rename_and_delete_stay_in_sync(server, http):
    session = await register(http, server, "Алевтина")
    other = await register(http, server, "Bartholomew")  # noqa: F841
    rows = await all_users(server, users.c.username)
    alevtina, bart = rows[0][0], rows[1][0]
    store = UserStore(server.db)
    assert await rooms_search(http, server, session, "алевт") == [alevtina]

    # a new username: found under the new one, not the old one (name and username both)
    await store.update(alevtina, username="Жозефина", name="Жозефина Ивановна")
    assert await rooms_search(http, server, session, "алевт") == []
    assert await rooms_search(http, server, session, "ЖОЗЕФ") == [alevtina]
    assert [r["id"] for r in await store.search_name("ивановна")] == [alevtina]
    assert await store.search_name("алевтина") == []
    # an update of other columns leaves the search alone
    await store.update(alevtina, about="hello")
    assert await rooms_search(http, server, session, "жозеф") == [alevtina]

    # a deleted user vanishes
    assert await rooms_search(http, server, session, "tholo") == [bart]
    await server.db.execute("test.delete", delete(users).where(users.c.id == bart))
    assert await rooms_search(http, server, session, "tholo") == []
    assert await store.search_name("bartholomew") == []
    # a new user under the freed name is found (SQLite may give it the freed id again)
    await register(http, server, "Bartholomew")
    assert await rooms_search(http, server, session, "tholo") == [(await all_users(server, users.c.username))[-1][0]]


@pytest_twisted.ensureDeferred
async def test_campus_rename_is_found_under_new_name_only(server, http):
    a = await signup(http, server, "Первоначальный")
    assert await campus_search(http, server, "первонач") == [a.id]
    await a.post("/api/profile/UpdateProfileInfo", {"display_name": "Переименованный"})
    assert await campus_search(http, server, "первонач") == []
    assert await campus_search(http, server, "ИМЕНОВ") == [a.id]


@pytest_twisted.ensureDeferred
async def test_search_limit_and_order(server, http):
    session = await register(http, server, "limit-owner")
    store = UserStore(server.db)
    for i in range(12):
        await store.insert(1.0, username=f"Common{i:02d}")
    ids = [i for i, _ in await all_users(server, users.c.username)][1:]
    assert [r["id"] for r in await store.search_username("COMMON", limit=5)] == ids[:5]
    assert [r["id"] for r in await store.search_username("mon1", limit=100)] == ids[10:]
    assert await rooms_search(http, server, session, "common") == ids


# -- the query plans ------------------------------------------------------------------------------

def _plan(t, compiled, params):
    t.cursor.execute("EXPLAIN QUERY PLAN " + compiled.sql, dict(compiled.defaults, **params))
    return " | ".join(str(row[-1]) for row in t.cursor.fetchall())


@pytest_twisted.ensureDeferred
async def test_sqlite_search_uses_the_trigram_table(server):
    db = server.db
    if db.name != "sqlite":
        pytest.skip("SQLite only")
    assert USERS_SEARCH_FTS in db.search_indexes
    params = {"fts_pattern": "%abc%", "pattern": "%abc%", "limit": 100}
    for stmt in (_fts_search_username, _fts_search_name):
        plan = await db.interact("test.plan", _plan, db.compile(stmt), params)
        assert "VIRTUAL TABLE" in plan and "SCAN users_search" in plan, plan
        assert "SCAN users " not in plan + " " and "TEMP B-TREE" not in plan, plan
    # and the trigram LIKE matches Cyrillic substrings, case-insensitively
    store = UserStore(db)
    uid = await store.insert(1.0, username="ПРОВЕРКА", name="Ещё Раз")
    assert [r["id"] for r in await store.search_username("овер")] == [uid]
    assert [r["id"] for r in await store.search_name("щё р")] == [uid]

    def fts_only(t):
        t.cursor.execute("SELECT rowid FROM users_search WHERE username_folded LIKE '%роверк%'")
        return [r[0] for r in t.cursor.fetchall()]

    assert await db.interact("test.fts", fts_only) == [uid]


@pytest_twisted.ensureDeferred
async def test_sqlite_existing_rows_are_indexed_when_the_table_is_created(tmp_path):
    """A 0.1.0 database from before the trigram table (users, no users_search, no
    alembic_version) gets its rows indexed when the migrations adopt it."""
    import sqlite3

    from twisted.internet import reactor, threads

    from meetsrv.store import migrations
    from meetsrv.store.db import Database

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    await threads.deferToThread(migrations.upgrade, url)
    db = Database(url, reactor)
    try:
        await UserStore(db).insert(1.0, username="Старожил")
    finally:
        db.close()
    conn = sqlite3.connect(tmp_path / "old.sqlite3")
    for (trigger,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'list_counts_%'").fetchall():
        conn.execute(f"DROP TRIGGER {trigger}")  # 0.1.0 kept no list counts
    conn.executescript("DROP TRIGGER users_search_ai; DROP TRIGGER users_search_au; "
                       "DROP TRIGGER users_search_ad; DROP TABLE users_search; "
                       # what 0.1.0 did not have either
                       "DROP TABLE alembic_version; DROP TABLE server_secrets; DROP TABLE idempotency_keys; "
                       "DROP TABLE list_counts; "
                       "ALTER TABLE pending_events DROP COLUMN lease_owner; "
                       "ALTER TABLE pending_events DROP COLUMN lease_until; "
                       "DROP TRIGGER messages_posted; ALTER TABLE chats DROP COLUMN last_message_id;")
    conn.execute("INSERT INTO users (username, username_folded, name, name_folded, created) "
                 "VALUES ('Новичок', 'новичок', '', '', 1.0)")
    conn.commit()
    conn.close()
    assert (await threads.deferToThread(migrations.upgrade, url)).legacy
    db = Database(url, reactor)
    try:
        await db.load_search_indexes()
        assert USERS_SEARCH_FTS in db.search_indexes
        store = UserStore(db)
        assert [r["username"] for r in await store.search_username("СТАРОЖ")] == ["Старожил"]
        assert [r["username"] for r in await store.search_username("вичо")] == ["Новичок"]
        await threads.deferToThread(migrations.upgrade, url)  # again: no second rebuild, nothing doubled
        assert [r["username"] for r in await store.search_username("вичо")] == ["Новичок"]
    finally:
        db.close()


@pytest_twisted.ensureDeferred
async def test_postgresql_search_uses_the_trigram_indexes(server):
    db = server.db
    if db.name != "postgresql":
        pytest.skip("PostgreSQL only")

    def has_trgm(t):
        t.cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return t.cursor.fetchone() is not None

    if not await db.interact("test.has_trgm", has_trgm):
        pytest.skip("pg_trgm not available on this server")
    from meetsrv.store.accounts.users import _search_name, _search_username

    def plan(t, stmt, index):
        t.cursor.execute("SET LOCAL enable_seqscan = off")
        compiled = db.compile(stmt)
        t.cursor.execute("EXPLAIN " + compiled.sql, dict(compiled.defaults, pattern="%abcd%", limit=100))
        return "\n".join(r[0] for r in t.cursor.fetchall())

    for stmt, index in ((_search_username, "ix_users_username_folded_trgm"),
                        (_search_name, "ix_users_name_folded_trgm")):
        text = await db.interact("test.plan", plan, stmt, index)
        assert "Bitmap Index Scan on " + index in text, text


@pytest_twisted.ensureDeferred
async def test_postgresql_without_pg_trgm_permission_warns_and_searches(pg_database):
    """CREATE EXTENSION refused (no CREATE privilege on the database): one warning, the schema is
    still migrated to head, and search works (by scan)."""
    if not pg_database:
        pytest.skip("PostgreSQL only")
    import os
    import uuid
    from urllib.parse import urlparse, urlunparse

    import psycopg2
    from twisted.internet import reactor, threads
    from twisted.logger import globalLogPublisher

    from meetsrv.store import migrations
    from meetsrv.store.db import Database

    admin_url = os.environ["MEETSRV_TEST_POSTGRES"]
    name = f"meetsrv_t_notrgm_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE ROLE "{name}" LOGIN')
        cur.execute(f'CREATE DATABASE "{name}"')
        cur.execute(f'REVOKE CREATE ON DATABASE "{name}" FROM PUBLIC')
    parsed = urlparse(admin_url)
    owner = psycopg2.connect(urlunparse(parsed._replace(path="/" + name)))
    owner.autocommit = True
    with owner.cursor() as cur:
        cur.execute(f'GRANT CREATE, USAGE ON SCHEMA public TO "{name}"')
        cur.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cur.fetchone()[0] == 0
    owner.close()
    url = urlunparse(parsed._replace(netloc=f"{name}@{parsed.hostname}" + (f":{parsed.port}" if parsed.port else ""),
                                     path="/" + name))
    events = []
    globalLogPublisher.addObserver(events.append)
    db = Database(url, reactor)
    try:
        await threads.deferToThread(migrations.upgrade, url)
        await threads.deferToThread(migrations.upgrade, url)  # at head: not tried again
        assert (await threads.deferToThread(migrations.state, url)).current == migrations.head()
        await db.load_search_indexes()
        # the natural-order collation needs only CREATE on the schema, not an extension
        assert db.search_indexes == frozenset({"natural_order"})
        warnings = [e for e in events if e.get("name") == "users_trgm"]
        assert len(warnings) == 1 and "permission denied" in warnings[0]["error"], warnings
        store = UserStore(db)
        uid = await store.insert(1.0, username="Безиндексный")
        assert [r["id"] for r in await store.search_username("ИНДЕКС")] == [uid]
    finally:
        globalLogPublisher.removeObserver(events.append)
        db.close()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'DROP ROLE IF EXISTS "{name}"')
        admin.close()

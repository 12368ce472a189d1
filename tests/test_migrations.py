"""Schema migrations (store/migrations/): an empty database is brought to exactly tables.py, a
database made by meetsrv 0.1.0 (before migrations) is adopted with its rows, --no-migrate refuses
a schema that is behind, and processes starting at once migrate once."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import pytest_twisted
from sqlalchemy import create_engine, text

from meetsrv.config import ConfigError
from meetsrv.store import migrations
from tests.support.waiting import in_thread

DATA = Path(__file__).resolve().parent / "data"


def schema_differences(url: str) -> list:
    """What autogenerate would change to make the database equal tables.py (nothing, we hope)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = migrations.engine_for(url)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # it skips expression indexes, saying so: missing_indexes checks them by name
            warnings.simplefilter("ignore")
            options = migrations.compare_options(conn.dialect.name)
            context = MigrationContext.configure(conn, opts=options)
            return compare_metadata(context, options["target_metadata"])
    finally:
        engine.dispose()


def missing_indexes(url: str) -> set[str]:
    """Indexes of tables.py the database lacks, by name from the catalog (autogenerate and
    reflection skip expression indexes)."""
    catalog = ("SELECT name FROM sqlite_master WHERE type = 'index'" if url.startswith("sqlite")
               else "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    engine = migrations.engine_for(url)
    try:
        with engine.connect() as conn:
            found = {row[0] for row in conn.exec_driver_sql(catalog)}
    finally:
        engine.dispose()
    return {ix.name for table in migrations.metadata.tables.values() for ix in table.indexes} - found


def versions(url: str) -> list[str]:
    engine = create_engine(migrations.sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


async def search_indexes(url: str) -> frozenset:
    from twisted.internet import reactor

    from meetsrv.store.db import Database

    db = Database(url, reactor)
    try:
        await db.load_search_indexes()
        return db.search_indexes
    finally:
        db.close()


@pytest_twisted.ensureDeferred
async def test_an_empty_database_is_migrated_to_exactly_tables_py(fresh_db_url):
    before = await in_thread(migrations.upgrade, fresh_db_url)
    assert before.current is None and not before.legacy and before.behind
    assert versions(fresh_db_url) == [migrations.head()]
    assert schema_differences(fresh_db_url) == []
    assert missing_indexes(fresh_db_url) == set()
    # the optional search indexes were made (this machine's SQLite has FTS5, PostgreSQL pg_trgm and ICU)
    expected = {"users_search" if fresh_db_url.startswith("sqlite") else "users_trgm", "natural_order"}
    assert await search_indexes(fresh_db_url) == expected
    # a second run changes nothing
    again = await in_thread(migrations.upgrade, fresh_db_url)
    assert again.current == migrations.head() and not again.behind
    assert versions(fresh_db_url) == [migrations.head()]


@pytest_twisted.ensureDeferred
async def test_a_database_loaded_from_schema_sql_is_at_head(fresh_db_url):
    """schema.sql is for DBAs who build the database themselves: what it makes is at head, and
    the server's start-up finds nothing to migrate (it once failed on a table that existed)."""
    if fresh_db_url.startswith("sqlite"):
        pytest.skip("schema.sql is PostgreSQL DDL")
    import psycopg2

    conn = psycopg2.connect(fresh_db_url)
    with conn, conn.cursor() as cur:
        cur.execute((Path(__file__).resolve().parent.parent / "schema.sql").read_text())
    conn.close()
    found = await in_thread(migrations.upgrade, fresh_db_url)
    assert found.current == migrations.head() and not found.behind and not found.legacy
    assert schema_differences(fresh_db_url) == []


def build_like_0_1_0(url: str) -> dict:
    """A database as meetsrv 0.1.0 left it: its DDL (tests/data), no alembic_version, and rows
    that it made (ids from the database). Returns the ids."""
    from meetsrv.core.accounts.passwords import hash_password
    from meetsrv.core.chats.rooms import member_key

    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    ddl = (DATA / f"meetsrv-0.1.0-{dialect}.sql").read_text()
    engine = create_engine(migrations.sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            if dialect == "sqlite":
                conn.connection.driver_connection.executescript(ddl)
            else:
                conn.exec_driver_sql(ddl)
        with engine.begin() as conn:
            def user(name):
                return conn.execute(text(
                    "INSERT INTO users (username, username_folded, name, name_folded, password_hash, created) "
                    "VALUES (:u, :f, :u, :f, :h, 1.0) RETURNING id"),
                    {"u": name, "f": name.casefold(), "h": hash_password(f"pw-{name}", 2**8)}).scalar()

            ann, ben = user("Ann"), user("Ben")
            room = conn.execute(text(
                "INSERT INTO chats (kind, owner_id, member_key, created) VALUES ('room', :o, :k, 2.0) RETURNING id"),
                {"o": ann, "k": member_key([ann, ben])}).scalar()
            for uid in (ann, ben):
                conn.execute(text("INSERT INTO chat_members (chat_id, user_id, joined) VALUES (:c, :u, 2.0)"),
                             {"c": room, "u": uid})
            for i, (uid, words) in enumerate([(ann, "hello Ben"), (ben, "hi Ann"), (ann, "see you at 5")]):
                conn.execute(text("INSERT INTO messages (chat_id, user_id, text, created) VALUES (:c, :u, :t, :at)"),
                             {"c": room, "u": uid, "t": words, "at": 3.0 + i})
    finally:
        engine.dispose()
    return {"ann": ann, "ben": ben, "room": room}


@pytest_twisted.ensureDeferred
async def test_a_database_made_by_0_1_0_is_adopted_at_start_with_its_rows(fresh_db_url, start_server, http):
    ids = await in_thread(build_like_0_1_0, fresh_db_url)
    state = await in_thread(migrations.state, fresh_db_url)
    assert state.legacy and state.current is None

    server = await start_server(db=fresh_db_url)
    assert versions(fresh_db_url) == [migrations.head()]
    assert schema_differences(fresh_db_url) == []
    assert missing_indexes(fresh_db_url) == set()
    # columns added to tables after that release were added, with their defaults for the old rows
    engine = create_engine(migrations.sqlalchemy_url(fresh_db_url))
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT active, door FROM users ORDER BY id"))] == \
            [(True, None), (True, None)]
        # the room names its newest message, which the next message links to
        newest = conn.execute(text("SELECT max(id) FROM messages")).scalar()
        assert [tuple(r) for r in conn.execute(text("SELECT last_message_id FROM chats"))] == [(newest,)]
    engine.dispose()
    # the rows are there and the doors read them
    r = await http.post(server.url + "/v1/login", json_body={"login": "Ann", "password": "pw-Ann"})
    assert r.code == 200, r.text
    auth = {"X-Session-Id": r.json["session_id"]}
    rooms = (await http.get(server.url + "/v1/rooms", headers=auth)).json
    assert [room["id"] for room in rooms] == [ids["room"]]
    history = (await http.get(server.url + f"/v1/rooms/{ids['room']}/messages", headers=auth)).json
    assert sorted(m["text"] for m in history) == ["hello Ben", "hi Ann", "see you at 5"]
    # the search indexes cover the old rows, and the ids go on after them
    found = (await http.get(server.url + "/v1/users?q=be", headers=auth)).json
    assert [u["id"] for u in found] == [ids["ben"]]
    r = await http.post(server.url + "/v1/register", json_body={"login": "Cid", "password": "pw"})
    assert r.code == 200, r.text
    cid = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": r.json["session_id"]})).json
    assert cid["id"] > ids["ben"]


@pytest_twisted.ensureDeferred
async def test_no_migrate_refuses_a_database_that_is_behind(fresh_db_url, start_server):
    with pytest.raises(ConfigError) as refused:
        await start_server(db=fresh_db_url, no_migrate=True)
    assert str(refused.value) == (f"--no-migrate: the database is empty, head is {migrations.head()}; "
                                  "run `meetsrv-admin migrate` first")
    state = await in_thread(migrations.state, fresh_db_url)
    assert state.current is None and not state.legacy  # nothing was made
    await in_thread(migrations.upgrade, fresh_db_url)
    server = await start_server(db=fresh_db_url, no_migrate=True)
    assert server.services is not None


@pytest_twisted.ensureDeferred
async def test_a_database_of_a_newer_release_is_refused(fresh_db_url, start_server):
    await in_thread(migrations.upgrade, fresh_db_url)
    engine = create_engine(migrations.sqlalchemy_url(fresh_db_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ConfigError) as refused:
        await start_server(db=fresh_db_url)
    assert "at revision 9999, which this release does not know" in str(refused.value)


@pytest_twisted.ensureDeferred
async def test_processes_starting_at_once_migrate_once(fresh_db_url):
    """Two upgrades at once (the PostgreSQL advisory lock, SQLite's BEGIN IMMEDIATE): one does the
    work, the other waits and finds the database at head."""
    from twisted.internet import defer

    first, second = await defer.gatherResults(
        [in_thread(migrations.upgrade, fresh_db_url), in_thread(migrations.upgrade, fresh_db_url)]
    )
    assert sorted([first.behind, second.behind]) == [False, True]
    assert versions(fresh_db_url) == [migrations.head()]

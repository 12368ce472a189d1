"""Schema migrations: Alembic revisions in versions/, run from code on a connection of their own.

The server upgrades its database at start (meetsrv.service), `meetsrv-admin migrate` does it by
hand; both call upgrade(). The adbapi pool the server runs on is separate: migrations are done
before it opens. Revision 0001 is the schema that meetsrv 0.1.0 created at every start; a
database made by that release (tables, no alembic_version) is adopted as 0001 and keeps its rows.

New revision (after changing tables.py):
    python -m meetsrv.store.migrations revision --rev-id 0003 -m "what changes" --autogenerate
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from twisted.logger import Logger

from meetsrv.store.tables import metadata

log = Logger()

# The same key the server's start used before migrations existed: processes of both releases
# starting on one PostgreSQL database wait for each other.
LOCK_KEY = 74160101

HERE = Path(__file__).resolve().parent


class MigrationError(Exception):
    """The database's schema cannot be brought to (or is not at) this release's head."""


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # the search indexes of 0001 (SQL that a Table cannot express) are not in tables.py
    search_index = name is not None and (name.startswith("users_search") or name.endswith("_trgm"))
    return not (reflected and compare_to is None and search_index)


def compare_options(dialect_name: str) -> dict[str, Any]:
    """How autogenerate compares a database with tables.py (env.py and the tests use it)."""
    return {
        "target_metadata": metadata,
        "include_object": _include_object,
        # Alembic reads SQLite's '' defaults back as different from tables.py's
        "compare_server_default": dialect_name != "sqlite",
    }


def head() -> str:
    current = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current is None:
        raise MigrationError("no migration revisions")
    return current


def search_index_statements(dialect_name: str) -> list[str]:
    """The optional search-index and collation DDL of revision 0001 for a dialect (schema.sql
    shows it)."""
    module = ScriptDirectory.from_config(alembic_config()).get_revision("0001").module
    return [sql for _, statements, *_ in module.SEARCH_INDEXES.get(dialect_name, ()) for sql in statements]


def count_trigger_statements(dialect_name: str) -> list[str]:
    """The list count triggers of revision 0004 for a dialect (schema.sql shows them)."""
    module = ScriptDirectory.from_config(alembic_config()).get_revision("0004").module
    statements: list[str] = module.count_trigger_statements(dialect_name)
    return statements


def sqlalchemy_url(url: str) -> str:
    """--db as SQLAlchemy reads it: psycopg2 (the server's driver; SQLAlchemy 2.1 would pick
    psycopg 3), and "postgres://", the alias libpq accepts, spelled out."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme):]
    return url


def engine_for(url: str) -> Engine:
    """An engine for one migration run: no pool, a transaction that covers the DDL too."""
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

        # pysqlite starts transactions only before DML, so DDL would run outside one; take the
        # write lock at BEGIN instead, so a migration is all or nothing and processes queue.
        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection: Any, record: object) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # the revision in alembic_version; None: none recorded
    head: str
    legacy: bool  # meetsrv 0.1.0's tables without alembic_version: adopted as 0001 by upgrade

    @property
    def behind(self) -> bool:
        return self.current != self.head

    @property
    def where(self) -> str:
        if self.legacy:
            return "made by meetsrv 0.1.0 (no revision recorded)"
        if self.current is None:
            return "empty"
        return f"at revision {self.current}"

    def describe(self) -> str:
        return f"{self.where}, head is {self.head}" if self.behind else f"{self.where} (head)"


def _state(connection: Connection) -> SchemaState:
    current = MigrationContext.configure(connection).get_current_revision()
    script = ScriptDirectory.from_config(alembic_config())
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise MigrationError(
            f"the database is at revision {current}, which this release does not know "
            "(was it upgraded by a newer meetsrv?)"
        )
    legacy = current is None and inspect(connection).has_table("users")
    return SchemaState(current, head(), legacy)


def state(url: str) -> SchemaState:
    """Where the database's schema is, read without changing anything."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            return _state(connection)
    finally:
        engine.dispose()


def upgrade(url: str) -> SchemaState:
    """Bring the database to head in one transaction; returns the state found before.

    Blocking: the server runs it before its reactor starts, or in a thread."""
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # several processes may start at once on one database: one migrates, the
                # others wait here and then find it at head
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
            before = _state(connection)
            if before.behind:
                if before.legacy:
                    log.info("database made by meetsrv 0.1.0: adopting it as revision 0001")
                log.info("database {state}: upgrading", state=before.describe())
                command.upgrade(alembic_config(connection), "head")
            return before
    finally:
        engine.dispose()

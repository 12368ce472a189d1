"""The database: SQLAlchemy Core statements, compiled once, run through a twisted adbapi pool.

SQLite (a file in WAL mode, one connection) and PostgreSQL (psycopg2, reconnecting) are the two
dialects. A raw DB-API cursor does no SQLAlchemy type conversion, so the one conversion we need
(Boolean columns: SQLite gives 0/1) is done here, once per compiled statement.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from sqlalchemy import Boolean
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable
from twisted.enterprise import adbapi
from twisted.internet import defer

from meetsrv.config import ConfigError
from meetsrv.store.tables import metadata


@dataclass(frozen=True)
class Compiled:
    sql: str
    defaults: dict
    # (index, converter) for result columns that need converting, e.g. Boolean -> bool
    converters: tuple


class DatabaseUnavailable(Exception):
    """The database could not be reached at start."""


def _converters(stmt) -> tuple:
    columns = getattr(stmt, "exported_columns", None)
    if columns is None:
        return ()
    out = []
    for i, column in enumerate(columns):
        if isinstance(getattr(column, "type", None), Boolean):
            out.append((i, bool))
    return tuple(out)


class Txn:
    """The cursor side of one interaction; runs on a pool thread."""

    def __init__(self, db: "Database", cursor):
        self.db = db
        self.cursor = cursor

    def _run(self, stmt, params: dict, dynamic: bool) -> Compiled:
        compiled = self.db.compile(stmt, dynamic)
        if compiled.defaults:
            values = dict(compiled.defaults)
            values.update(params)
        else:
            values = params
        self.cursor.execute(compiled.sql, values)
        return compiled

    def execute(self, stmt, dynamic: bool = False, **params) -> int:
        self._run(stmt, params, dynamic)
        return self.cursor.rowcount

    def rows(self, stmt, dynamic: bool = False, **params) -> list[dict]:
        compiled = self._run(stmt, params, dynamic)
        names = [d[0] for d in self.cursor.description]
        result = []
        convert = compiled.converters
        for raw in self.cursor.fetchall():
            if convert:
                raw = list(raw)
                for i, fn in convert:
                    if raw[i] is not None:
                        raw[i] = fn(raw[i])
            result.append(dict(zip(names, raw)))
        return result

    def row(self, stmt, dynamic: bool = False, **params) -> dict | None:
        rows = self.rows(stmt, dynamic, **params)
        return rows[0] if rows else None

    def scalar(self, stmt, dynamic: bool = False, **params):
        self._run(stmt, params, dynamic)
        raw = self.cursor.fetchone()
        return None if raw is None else raw[0]


def _sqlite_open(conn):
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")


class Database:
    """One pool and one dialect. Every query of every store module goes through here."""

    def __init__(self, url: str, reactor=None):
        self.url = url
        parsed = urlparse(url)
        self._cache: dict[int, tuple[Any, Compiled]] = {}
        if parsed.scheme == "sqlite":
            path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
            if not path:
                raise ConfigError(f"--db: no file in {url!r}")
            self.name = "sqlite"
            self.path = path
            self.dialect = sqlite.dialect(paramstyle="named")
            kwargs = dict(
                cp_min=1,
                cp_max=1,
                cp_openfun=_sqlite_open,
                check_same_thread=False,
                timeout=30,
                # autocommit off: adbapi commits after each interaction
            )
            self.pool = adbapi.ConnectionPool(
                "sqlite3", path, cp_reactor=reactor, cp_noisy=False, **kwargs
            )
        elif parsed.scheme in ("postgresql", "postgres"):
            self.name = "postgresql"
            self.path = None
            self.dialect = postgresql.psycopg2.dialect()
            self.pool = adbapi.ConnectionPool(
                "psycopg2",
                url,
                cp_min=1,
                cp_max=8,
                cp_reconnect=True,
                cp_reactor=reactor,
                cp_noisy=False,
                connect_timeout=10,
            )
        else:
            raise ConfigError(f"--db: unsupported database URL {url!r}")

    # -- compiling --------------------------------------------------------------------------
    def compile(self, stmt, dynamic: bool = False) -> Compiled:
        """Compile once per statement object; `dynamic` statements (IN lists) every time."""
        if not dynamic:
            hit = self._cache.get(id(stmt))
            if hit is not None and hit[0] is stmt:
                return hit[1]
        kwargs = {"render_postcompile": True} if dynamic else {}
        c = stmt.compile(dialect=self.dialect, compile_kwargs=kwargs)
        # values fixed in the statement (including an explicit None); bindparam("x") without a
        # value is required and must come from the caller
        defaults = {}
        for name, value in c.params.items():
            bind = c.binds.get(name)
            if bind is None or not bind.required:
                defaults[name] = value
        compiled = Compiled(c.string, defaults, _converters(stmt))
        if not dynamic:
            self._cache[id(stmt)] = (stmt, compiled)
        return compiled

    # -- running ----------------------------------------------------------------------------
    def interact(self, fn: Callable[..., Any], *args, **kwargs) -> defer.Deferred:
        """Run fn(txn, *args) in one transaction on a pool thread."""
        return self.pool.runInteraction(lambda cursor: fn(Txn(self, cursor), *args, **kwargs))

    def rows(self, stmt, **params) -> defer.Deferred:
        return self.interact(lambda t: t.rows(stmt, **params))

    def row(self, stmt, **params) -> defer.Deferred:
        return self.interact(lambda t: t.row(stmt, **params))

    def scalar(self, stmt, **params) -> defer.Deferred:
        return self.interact(lambda t: t.scalar(stmt, **params))

    def execute(self, stmt, **params) -> defer.Deferred:
        return self.interact(lambda t: t.execute(stmt, **params))

    # -- lifecycle --------------------------------------------------------------------------
    def check_reachable(self) -> None:
        """Synchronously make sure the database can be opened (fail at start, not later)."""
        if self.name == "sqlite":
            folder = Path(self.path).resolve().parent
            if not folder.is_dir():
                raise DatabaseUnavailable(f"--db: folder {folder} does not exist")
            try:
                sqlite3.connect(self.path, timeout=5).close()
            except sqlite3.Error as e:
                raise DatabaseUnavailable(f"--db: cannot open {self.path}: {e}")
        else:
            import psycopg2

            try:
                psycopg2.connect(self.url, connect_timeout=5).close()
            except psycopg2.Error as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise DatabaseUnavailable(f"--db: cannot connect to PostgreSQL: {first}")

    def schema_statements(self) -> list[str]:
        return schema_statements(self.dialect)

    def create_schema(self) -> defer.Deferred:
        statements = self.schema_statements()

        def run(t: Txn):
            if self.name == "postgresql":
                # several processes may start at once on one database
                t.cursor.execute("SELECT pg_advisory_xact_lock(74160101)")
            for sql in statements:
                t.cursor.execute(sql)

        return self.interact(run)

    def close(self) -> None:
        if self.pool.running:
            self.pool.close()


def schema_statements(dialect) -> list[str]:
    out = []
    for table in metadata.sorted_tables:
        out.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: i.name):
            out.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)).strip())
    return out

"""The database: SQLAlchemy Core statements, compiled once, run through a twisted adbapi pool.

SQLite (a file in WAL mode, one connection) and PostgreSQL (psycopg2, reconnecting) are the two
dialects. A raw DB-API cursor does no SQLAlchemy type conversion, so the one conversion we need
(Boolean columns: SQLite gives 0/1) is done here, once per compiled statement.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeAlias, TypeVar, Union, cast
from urllib.parse import urlparse

from sqlalchemy import Boolean
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Delete, UpdateBase
from sqlalchemy.sql.util import find_tables
from twisted.enterprise import adbapi
from twisted.internet import defer
from twisted.python.failure import Failure

from meetsrv.config import ConfigError
from meetsrv.store.tables import metadata

if TYPE_CHECKING:
    from meetsrv.store.cache import ReadCache

# a row as the cursor gives it: column name -> value (Boolean columns already bool)
Row: TypeAlias = dict[str, Any]
T = TypeVar("T")
P = ParamSpec("P")
# a value at once (a kept read, a cached credential) or, when it must be fetched, a Deferred
NowOrLater: TypeAlias = Union[T, "defer.Deferred[T]"]


@dataclass(frozen=True)
class Compiled:
    sql: str
    defaults: dict[str, Any]
    # (index, converter) for result columns that need converting, e.g. Boolean -> bool
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]
    # the tables the statement changes (with those a DELETE changes through ON DELETE), and
    # those it reads: what store/cache.py drops kept reads for, and keeps them by
    writes: frozenset[str] = frozenset()
    reads: frozenset[str] = frozenset()
    # PostgreSQL: the statement is kept prepared on each connection under this form
    prepared: Prepared | None = None


@dataclass(frozen=True)
class Prepared:
    """A statement PostgreSQL parses and plans once per connection (PREPARE), then only runs
    (EXECUTE): for the hottest statements, whose planning costs more than their running."""
    name: str
    create: str  # PREPARE <name> AS <the statement with $1, $2, ...>
    run: str  # EXECUTE <name> (%s, %s, ...)
    params: tuple[str, ...]  # the bind names in $n order


# execution option of a statement to keep prepared (PostgreSQL): `.execution_options(
# **prepared_as("chats_post"))`; SQLite compiles statements to its own cache already
def prepared_as(name: str) -> dict[str, str]:
    return {"meetsrv_prepared": name}


_PYFORMAT_BIND = re.compile(r"%\((\w+)\)s")


def _prepared_form(name: str, sql: str) -> Prepared:
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    # the PREPARE text is sent without parameters: psycopg2 does not undo its %% escapes there
    body = _PYFORMAT_BIND.sub(number, sql).replace("%%", "%")
    return Prepared(name, f"PREPARE {name} AS {body}",
                    f"EXECUTE {name} ({', '.join(['%s'] * len(order))})" if order else f"EXECUTE {name}",
                    tuple(order))


class Conflict(Exception):
    """A unique constraint refused a write: another row holds that key (often a race lost).
    Raised by every transaction in place of the driver's own error; core services catch it to
    answer "already exists" or to read the winner's row."""

    def __init__(self, desc: str, detail: str = ""):
        super().__init__(f"{desc}: {detail}" if detail else desc)
        self.desc = desc


def _is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return str(exc).startswith("UNIQUE constraint failed")
    try:
        from psycopg2 import errors as pg_errors
    except ImportError:  # pragma: no cover - psycopg2 is a dependency
        return False
    return isinstance(exc, pg_errors.UniqueViolation)


def _as_conflict(failure: Failure, desc: str) -> Failure:
    if _is_unique_violation(failure.value):
        return Failure(Conflict(desc, str(failure.value).strip().splitlines()[0]))  # type: ignore[no-untyped-call]
    return failure


def is_unavailable(exc: BaseException) -> bool:
    """The database could not be reached (or lost the connection): worth trying again later."""
    if isinstance(exc, (sqlite3.OperationalError, sqlite3.InterfaceError, ConnectionError)):
        return True
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - psycopg2 is a dependency
        return False
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))


class DatabaseUnavailable(Exception):
    """The database could not be reached at start."""


def _converters(stmt: ClauseElement) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    columns = getattr(stmt, "exported_columns", None)
    if columns is None:
        return ()
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, column in enumerate(columns):
        if isinstance(getattr(column, "type", None), Boolean):
            out.append((i, bool))
    return tuple(out)


def _deleting_changes(table_name: str) -> frozenset[str]:
    """The tables a DELETE from `table_name` changes: itself and, through ON DELETE CASCADE /
    SET NULL, the tables referencing it (transitively)."""
    found: set[str] = set()
    todo = [table_name]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for table in metadata.tables.values():
            for fk in table.foreign_keys:
                if fk.column.table.name == name and (fk.ondelete or "").upper() in ("CASCADE", "SET NULL"):
                    todo.append(table.name)
    return frozenset(found)


_DELETE_CHANGES = {name: _deleting_changes(name) for name in metadata.tables}

# execution options of a statement that writes only what no kept read shows (a chat's read
# mark): its writes are not announced to the read caches (store/cache.py)
UNSEEN_BY_READ_CACHE = {"meetsrv_unseen_by_read_cache": True}


def tables_written(stmt: ClauseElement) -> frozenset[str]:
    if not isinstance(stmt, UpdateBase) or stmt.get_execution_options().get("meetsrv_unseen_by_read_cache"):
        return frozenset()
    name = str(getattr(stmt.table, "name", ""))
    if isinstance(stmt, Delete):
        return _DELETE_CHANGES.get(name, frozenset({name}))
    return frozenset({name})


def tables_read(stmt: ClauseElement) -> frozenset[str]:
    return frozenset(t.name for t in find_tables(stmt, include_joins=True) if isinstance(getattr(t, "name", None), str))


class Txn:
    """The cursor side of one interaction; runs on a pool thread. It notes the tables its
    statements change (`written`) and, when asked to (`read` is a set), those they read."""

    def __init__(self, db: Database, cursor: Any, read: set[str] | None = None):
        self.db = db
        self.cursor = cursor  # the DB-API cursor (sqlite3 or psycopg2)
        self.written: set[str] = set()
        self.read = read

    def _run(self, stmt: ClauseElement, params: dict[str, Any], dynamic: bool) -> Compiled:
        compiled = self.db.compile(stmt, dynamic)
        if compiled.writes:
            self.written |= compiled.writes
        if self.read is not None:
            self.read |= compiled.reads if not dynamic else tables_read(stmt)
        if compiled.defaults:
            values = dict(compiled.defaults)
            values.update(params)
        else:
            values = params
        for observer in self.db._statement_observers:
            observer(compiled.sql)
        prepared = compiled.prepared
        if prepared is None:
            self.cursor.execute(compiled.sql, values)
        else:
            self.db._prepare_on(self.cursor, prepared)
            self.cursor.execute(prepared.run, [values[name] for name in prepared.params])
        return compiled

    def execute(self, stmt: ClauseElement, dynamic: bool = False, **params: Any) -> int:
        self._run(stmt, params, dynamic)
        return int(self.cursor.rowcount)

    def rows(self, stmt: ClauseElement, dynamic: bool = False, **params: Any) -> list[Row]:
        names = None
        result = []
        for raw in self.tuples(stmt, dynamic, **params):
            if names is None:
                names = [d[0] for d in self.cursor.description]
            result.append(dict(zip(names, raw)))
        return result

    def tuples(self, stmt: ClauseElement, dynamic: bool = False, **params: Any) -> list[tuple[Any, ...]]:
        """The rows as tuples, in the statement's column order: for a hot read whose caller
        regroups the rows anyway (no dict per row)."""
        compiled = self._run(stmt, params, dynamic)
        fetched = self.cursor.fetchall()
        convert = compiled.converters
        if not convert:
            return cast(list[tuple[Any, ...]], fetched)
        result = []
        for raw in fetched:
            raw = list(raw)
            for i, fn in convert:
                if raw[i] is not None:
                    raw[i] = fn(raw[i])
            result.append(tuple(raw))
        return result

    def row(self, stmt: ClauseElement, dynamic: bool = False, **params: Any) -> Row | None:
        rows = self.rows(stmt, dynamic, **params)
        return rows[0] if rows else None

    def scalar(self, stmt: ClauseElement, dynamic: bool = False, **params: Any) -> Any:
        self._run(stmt, params, dynamic)
        raw = self.cursor.fetchone()
        return None if raw is None else raw[0]


def create_private(path: str) -> None:
    """Create the SQLite file readable by its owner only (0600), before SQLite would create it
    under the umask (world-readable); its -wal and -shm files take the same mode. An existing
    file, ":memory:" or a missing folder is left to SQLite."""
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass


def natural_key(text: str) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """The sort key of natural order: digit runs compare as numbers, the rest case-insensitively
    ("Org 2" before "Org 10", "org 3" between them)."""
    parts = re.split(r"(\d+)", text.casefold())
    return tuple((0, int(p), "") if i % 2 else (1, 0, p) for i, p in enumerate(parts) if p), text


def _natural_compare(a: str | None, b: str | None) -> int:
    ka, kb = natural_key(a or ""), natural_key(b or "")
    return (ka > kb) - (ka < kb)


def sqlite_path(url: str) -> str:
    parsed = urlparse(url)
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
    if not path:
        raise ConfigError(f"--db: no file in {url!r}")
    return path


def check_reachable(url: str) -> None:
    """Open and close one connection (blocking): DatabaseUnavailable with one line if it fails."""
    if urlparse(url).scheme == "sqlite":
        path = sqlite_path(url)
        folder = Path(path).resolve().parent
        if not folder.is_dir():
            raise DatabaseUnavailable(f"--db: folder {folder} does not exist")
        try:
            create_private(path)
            sqlite3.connect(path, timeout=5).close()
        except sqlite3.Error as e:
            raise DatabaseUnavailable(f"--db: cannot open {path}: {e}")
    else:
        import psycopg2

        try:
            psycopg2.connect(url, connect_timeout=5).close()
        except psycopg2.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DatabaseUnavailable(f"--db: cannot connect to PostgreSQL: {first}")


def _sqlite_open(conn: sqlite3.Connection) -> None:
    # the collation that PostgreSQL gets from ICU (migration 0001), here in Python on every connection
    conn.create_collation(NATURAL_ORDER, _natural_compare)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")


class Database:
    """One pool and one dialect. Every query of every store module goes through here."""

    dialect: Dialect
    path: str | None

    def __init__(self, url: str, reactor: Any = None):
        self.url = url
        parsed = urlparse(url)
        self._cache: dict[int, tuple[Any, Compiled]] = {}
        # PostgreSQL connection id -> (the connection, names of the statements prepared on it)
        self._prepared: dict[int, tuple[weakref.ref[Any], set[str]]] = {}
        self._prepared_lock = threading.Lock()
        self._observers: list[Callable[[str, float, float], None]] = []
        self._statement_observers: list[Callable[[str], None]] = []
        # the read cache of `cached` reads (store/cache.py), and what is told of the tables each
        # transaction changed; both set by store/cache.py, None when there is none (the CLI)
        self.read_cache: ReadCache | None = None
        self.on_written: Callable[[frozenset[str]], defer.Deferred[None] | None] | None = None
        if parsed.scheme == "sqlite":
            path = sqlite_path(url)
            self.name = "sqlite"
            self.path = path
            create_private(path)
            self.dialect = sqlite.dialect(paramstyle="named")
            kwargs = dict(
                cp_min=1,
                cp_max=1,
                cp_openfun=_sqlite_open,
                check_same_thread=False,
                timeout=30,
                # autocommit off: adbapi commits after each interaction
            )
            self.pool = adbapi.ConnectionPool(  # type: ignore[no-untyped-call]
                "sqlite3", path, cp_reactor=reactor, cp_noisy=False, **kwargs
            )
        elif parsed.scheme in ("postgresql", "postgres"):
            self.name = "postgresql"
            self.path = None
            self.dialect = postgresql.psycopg2.dialect()  # type: ignore[no-untyped-call]
            self.pool = adbapi.ConnectionPool(  # type: ignore[no-untyped-call]
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
        # names of the SEARCH_INDEXES in place (set by load_search_indexes); store modules ask
        # this to pick an indexed query, e.g. "users_search" (SQLite FTS5 trigram table)
        self.search_indexes: frozenset[str] = frozenset()

    # -- compiling --------------------------------------------------------------------------
    def compile(self, stmt: ClauseElement, dynamic: bool = False) -> Compiled:
        """Compile once per statement object; `dynamic` statements (IN lists) every time."""
        if not dynamic:
            hit = self._cache.get(id(stmt))
            if hit is not None and hit[0] is stmt:
                return hit[1]
        kwargs = {"render_postcompile": True} if dynamic else {}
        c = cast(SQLCompiler, stmt.compile(dialect=self.dialect, compile_kwargs=kwargs))
        # values fixed in the statement (including an explicit None); bindparam("x") without a
        # value is required and must come from the caller
        defaults: dict[str, Any] = {}
        for name, value in c.params.items():
            bind = c.binds.get(name)
            if bind is None or not bind.required:
                defaults[name] = value
        name = stmt.get_execution_options().get("meetsrv_prepared") if isinstance(stmt, Executable) else None
        compiled = Compiled(c.string, defaults, _converters(stmt), tables_written(stmt),
                            frozenset() if dynamic else tables_read(stmt),
                            _prepared_form(name, c.string) if name and self.name == "postgresql" and not dynamic
                            else None)
        if not dynamic:
            self._cache[id(stmt)] = (stmt, compiled)
        return compiled

    def _prepare_on(self, cursor: Any, prepared: Prepared) -> None:
        """PREPARE the statement on the cursor's connection unless it was before (pool thread).
        Prepared statements live as long as the connection, through rollbacks; a connection
        opened again (adbapi's reconnect) is a new one, with none."""
        connection = cursor.connection
        with self._prepared_lock:
            known = self._prepared.get(id(connection))
            if known is None or known[0]() is not connection:  # a new connection, maybe at a reused id
                for key in [k for k, (ref, _) in self._prepared.items() if ref() is None]:
                    del self._prepared[key]
                known = self._prepared[id(connection)] = (weakref.ref(connection), set())
        if prepared.name in known[1]:
            return
        cursor.execute(prepared.create)
        known[1].add(prepared.name)

    # -- running ----------------------------------------------------------------------------
    def add_observer(self, observer: Callable[[str, float, float], None]) -> None:
        """Call observer(desc, wait_seconds, run_seconds) on the reactor thread after each
        transaction (metrics): the wait for a pool thread, then the time the function ran."""
        self._observers.append(observer)

    def add_statement_observer(self, observer: Callable[[str], None]) -> None:
        """Call observer(sql) on the pool thread before each statement runs (tests count
        queries with it)."""
        self._statement_observers.append(observer)

    def interact(self, desc: str, fn: Callable[Concatenate[Txn, P], T], *args: P.args,
                 **kwargs: P.kwargs) -> defer.Deferred[T]:
        """Run fn(txn, *args) in one transaction on a pool thread. `desc` names the transaction
        (`<domain>.<module>.<method>`) for logs and metrics, as Synapse's runInteraction does."""
        return self._interact(desc, None, lambda t: fn(t, *args, **kwargs))

    def cached(self, desc: str, key: Hashable, fn: Callable[Concatenate[Txn, P], T], *args: P.args,
               **kwargs: P.kwargs) -> NowOrLater[T]:
        """A read kept in the read cache (store/cache.py) under (desc, key): its value at once
        when kept and still valid (no Deferred), else a Deferred of fn(txn, *args) run as
        `interact` does, kept for the next callers unless a table it read was written meanwhile.

        fn must run its statements through the Txn (t.rows, t.row, t.scalar), never the raw
        cursor: the tables it reads are what the kept value depends on. The value is shared by
        every caller until it is dropped: no caller may change it. Without a read cache:
        `interact`."""
        cache = self.read_cache
        if cache is None:
            return self._interact(desc, None, lambda t: fn(t, *args, **kwargs))
        full_key = (desc, key)
        hit = cache.get(full_key)
        if hit is not cache.MISS:
            return cast(T, hit)
        started = cache.serial
        read: set[str] = set()

        def kept(value: T) -> T:
            cache.put(full_key, value, started, read)
            return value

        return self._interact(desc, read, lambda t: fn(t, *args, **kwargs)).addCallback(kept)

    def _interact(self, desc: str, read: set[str] | None, fn: Callable[[Txn], T],
                  one_statement: bool = False) -> defer.Deferred[T]:
        # what the pool thread leaves for `_finished`: the Txn, then (observed) the times the
        # function started and ended
        ran: list[Any] = []
        observed = bool(self._observers)
        queued = time.perf_counter() if observed else 0.0
        # PostgreSQL runs one statement without BEGIN and COMMIT (it is atomic on its own): one
        # round trip instead of three; adbapi's commit after it then has nothing to do
        autocommit = one_statement and self.name == "postgresql"

        def run(cursor: Any) -> T:
            t = Txn(self, cursor, read)
            ran.append(t)
            if observed:
                ran.append(time.perf_counter())
            connection = cursor.connection if autocommit else None  # the driver's, through adbapi's
            try:
                if connection is not None:
                    connection.autocommit = True
                return fn(t)
            finally:
                if observed:
                    ran.append(time.perf_counter())
                if connection is not None:
                    try:
                        connection.autocommit = False
                    except Exception:  # a lost connection: adbapi opens another (cp_reconnect)
                        pass

        d: defer.Deferred[Any] = self.pool.runInteraction(run)  # type: ignore[no-untyped-call]
        # one callback for every transaction (each is a step on the reactor thread)
        return cast("defer.Deferred[T]", d.addBoth(self._finished, desc, ran, queued))

    def _finished(self, result: Any, desc: str, ran: list[Any], queued: float) -> Any:
        """After a transaction (on the reactor thread): the observers told its times; a unique
        violation raised as Conflict; `on_written(tables)` told of the tables it changed
        (committed, or maybe not when it failed), and what that returns (a Deferred: the other
        processes being told) waited for before the result goes on."""
        if len(ran) == 3:
            for observer in self._observers:
                observer(desc, ran[1] - queued, ran[2] - ran[1])
        if isinstance(result, Failure):
            result = _as_conflict(result, desc)
        if not ran or not ran[0].written or self.on_written is None:
            return result
        told = self.on_written(frozenset(ran[0].written))
        if told is None:
            return result
        return told.addBoth(lambda _: result)

    # One statement each, run as its own transaction. `dynamic=True` among the params compiles
    # the statement every time (IN lists).
    def rows(self, desc: str, stmt: ClauseElement, **params: Any) -> defer.Deferred[list[Row]]:
        return self._interact(desc, None, lambda t: t.rows(stmt, **params), one_statement=True)

    def tuples(self, desc: str, stmt: ClauseElement, **params: Any) -> defer.Deferred[list[tuple[Any, ...]]]:
        return self._interact(desc, None, lambda t: t.tuples(stmt, **params), one_statement=True)

    def row(self, desc: str, stmt: ClauseElement, **params: Any) -> defer.Deferred[Row | None]:
        return self._interact(desc, None, lambda t: t.row(stmt, **params), one_statement=True)

    def scalar(self, desc: str, stmt: ClauseElement, **params: Any) -> defer.Deferred[Any]:
        return self._interact(desc, None, lambda t: t.scalar(stmt, **params), one_statement=True)

    def execute(self, desc: str, stmt: ClauseElement, **params: Any) -> defer.Deferred[int]:
        return self._interact(desc, None, lambda t: t.execute(stmt, **params), one_statement=True)

    # -- lifecycle --------------------------------------------------------------------------
    def describe(self) -> str:
        return describe_database(self.url)

    def load_search_indexes(self) -> defer.Deferred[None]:
        """Find which optional search indexes the migrations could create (see SEARCH_INDEXES)."""
        checks = SEARCH_INDEXES.get(self.name, {})

        def run(t: Txn) -> frozenset[str]:
            found = []
            for name, query in checks.items():
                t.cursor.execute(query)
                if t.cursor.fetchone() is not None:
                    found.append(name)
            return frozenset(found)

        def done(found: frozenset[str]) -> None:
            if self.name == "sqlite":
                found = found | {NATURAL_ORDER}  # registered on each connection by _sqlite_open
            self.search_indexes = frozenset(found)

        return self.interact("schema.search_indexes", run).addCallback(done)

    def close(self) -> None:
        if self.pool.running:
            self.pool.close()  # type: ignore[no-untyped-call]


def describe_database(url: str) -> str:
    """Which database, for the start-up log: the SQLite file, or PostgreSQL's host, database
    and user (never the password)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
        return f"sqlite {path if path == ':memory:' else Path(path).resolve()}"
    host = parsed.hostname or "local socket"
    port = f":{parsed.port}" if parsed.port else ""
    user = f" as {parsed.username}" if parsed.username else ""
    return f"postgresql {host}{port}/{parsed.path.lstrip('/')}{user}"


def schema_statements(dialect: Dialect) -> list[str]:
    """tables.py as CREATE ... IF NOT EXISTS statements (schema.sql; bench/seed.py). The server
    builds its schema with the migrations instead."""
    out = []
    for table in metadata.sorted_tables:
        out.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            out.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)).strip())
    return out


# -- optional indexes and collations ------------------------------------------------------------
# Created by the migrations (revision 0001) where the database allows it: pg_trgm GIN indexes and
# an ICU natural-order collation on PostgreSQL, an FTS5 trigram table on SQLite. Without them
# searches scan users and lists sort in the column's own order. name -> a query whose first row
# says it is there.

USERS_SEARCH_FTS = "users_search"
# the collation of natural order, for the staff pages' sortable lists ("Org 2" before "Org 10");
# store modules use it when NATURAL_ORDER is in db.search_indexes, else the column's own order
NATURAL_ORDER = "natural_order"

SEARCH_INDEXES: dict[str, dict[str, str]] = {
    "postgresql": {
        "users_trgm": "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_users_name_folded_trgm'",
        NATURAL_ORDER: f"SELECT 1 FROM pg_collation WHERE collname = '{NATURAL_ORDER}'",
    },
    "sqlite": {
        USERS_SEARCH_FTS: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users_search'",
    },
}

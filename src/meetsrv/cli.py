"""meetsrv-admin: the operator's commands.

    meetsrv-admin migrate [--db URL]                  bring the database schema to this release
    meetsrv-admin create-staff EMAIL [--promote]      a staff account for the /admin/ pages
    meetsrv-admin check-config [server options]       can the server start with these settings?

Settings come as the server's do: options, then MEETSRV_* variables, then defaults. Each command
prints what it did in a line or a few, and exits 1 when it could not do it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sqlite3
import sys
from urllib.parse import urlparse, urlunparse

PROG = "meetsrv-admin"


class Refused(Exception):
    """A command that cannot be done: its message is printed as one line, exit status 1."""


# -- settings ------------------------------------------------------------------------------------

def server_options() -> tuple[list, list]:
    """The twistd plugin's (flags, parameters): check-config takes exactly the server's options."""
    from twisted.plugins.meetsrv_plugin import Options

    return Options.optFlags, Options.optParameters


def settings_from(options: dict):
    from meetsrv.config import ConfigError, build_settings

    try:
        return build_settings({k: v for k, v in options.items() if v not in (None, False)})
    except ConfigError as e:
        raise Refused(str(e))


def shown_url(url: str) -> str:
    """A database URL without its password."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = f"{parsed.username}:***@{parsed.hostname}" + (f":{parsed.port}" if parsed.port else "")
    return urlunparse(parsed._replace(netloc=netloc))


def reach_database(url: str) -> None:
    from meetsrv.store.db import DatabaseUnavailable, check_reachable

    try:
        check_reachable(url)
    except DatabaseUnavailable as e:
        raise Refused(str(e))


def _report_warnings() -> None:
    """Warnings logged on the way (e.g. a search index the database refused) go to stderr."""
    from twisted.logger import LogLevel, formatEvent, globalLogBeginner

    def observer(event):
        if event.get("log_level", LogLevel.info) >= LogLevel.warn:
            print(f"{PROG}: warning: {formatEvent(event)}", file=sys.stderr)

    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)


# -- migrate -------------------------------------------------------------------------------------

def migrate(args) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from meetsrv.store import migrations

    _report_warnings()
    settings = settings_from({"db": args.db})
    reach_database(settings.db)
    try:
        before = migrations.upgrade(settings.db)
    except migrations.MigrationError as e:
        raise Refused(str(e))
    except SQLAlchemyError as e:
        raise Refused(f"the migration failed and was rolled back: {_first_line(e)}")
    if before.behind:
        print(f"database {shown_url(settings.db)}: upgraded from {before.where} to revision {before.head} (head)")
    else:
        print(f"database {shown_url(settings.db)}: already at revision {before.head} (head)")


def _first_line(e: Exception) -> str:
    text = str(getattr(e, "orig", None) or e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# -- create-staff --------------------------------------------------------------------------------

def read_password(stdin=None) -> str:
    """Asked twice on a terminal (not echoed); else the first line of standard input."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise Refused("the two passwords differ")
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        raise Refused("the password is empty")
    return password


def create_staff(args) -> None:
    from meetsrv.store import migrations

    settings = settings_from({"db": args.db})
    email = args.email.strip()
    local, at, domain = email.rpartition("@")
    if not (local and at and domain):
        raise Refused(f"{email!r} is not an email address")
    reach_database(settings.db)
    state = migrations.state(settings.db)
    if state.behind:
        raise Refused(f"the database is {state.describe()}; run `{PROG} migrate` first")
    password = read_password()

    async def run(reactor):
        from meetsrv.bus.local import LocalBus, LocalEphemeral
        from meetsrv.core.errors import AlreadyExists
        from meetsrv.services import Services
        from meetsrv.store.db import Database

        db = Database(settings.db, reactor)
        try:
            # the server's own wiring: the same password cost and account rules
            services = Services(settings, db, LocalBus(), LocalEphemeral(reactor), reactor)
            staff = await services.directory_accounts.create_staff(email, password, args.promote)
        except AlreadyExists:
            raise Refused(f"{email} already has an account; add --promote to make it staff with this password")
        finally:
            db.close()
        if staff["created"]:
            print(f"staff account {staff['email']} (id {staff['id']}) created; sign in at /admin/")
        else:
            print(f"account {staff['email']} (id {staff['id']}) is staff now, with the new password")

    _react(run)


def _react(fn) -> None:
    """Run `fn(reactor)` (a coroutine function) on the reactor; its exception is raised here."""
    from twisted.internet import defer, task

    outcome = {}

    async def main(reactor):
        try:
            await fn(reactor)
        except BaseException as e:  # carried out of the reactor and raised again below
            outcome["error"] = e

    try:
        task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
    except SystemExit as e:
        if e.code:
            raise Refused(f"stopped with status {e.code}")
    if "error" in outcome:
        raise outcome["error"]


# -- check-config --------------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.failed = False

    def ok(self, name: str, text: str) -> None:
        print(f"ok    {name}: {text}")

    def fail(self, name: str, text: str) -> None:
        self.failed = True
        print(f"FAIL  {name}: {text}")


def check_config(args) -> None:
    from meetsrv.store import migrations
    from meetsrv.store.db import DatabaseUnavailable, check_reachable, sqlite_path

    flags, parameters = server_options()
    options = {name: getattr(args, name.replace("-", "_")) for name, *_ in flags + parameters}
    checks = Checks()
    try:
        settings = settings_from(options)
    except Refused as e:
        checks.fail("settings", str(e))
        raise SystemExit(1)
    checks.ok("settings", f"port {settings.port}, database {shown_url(settings.db)}, "
                          f"bus {'redis ' + settings.redis if settings.redis else 'in-process'}")

    # the database, without creating anything (a new SQLite file is made by the server)
    new_sqlite = False
    try:
        if settings.db.startswith("sqlite"):
            path = sqlite_path(settings.db)
            folder = os.path.dirname(os.path.abspath(path))
            if os.path.exists(path):
                conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5)
                try:
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                finally:
                    conn.close()
                checks.ok("database", f"{path} opens")
            elif os.path.isdir(folder) and os.access(folder, os.W_OK):
                new_sqlite = True
                checks.ok("database", f"{path} does not exist yet; the server creates it in {folder}")
            else:
                raise DatabaseUnavailable(f"--db: cannot create {path}: folder {folder} is missing or not writable")
        else:
            check_reachable(settings.db)
            checks.ok("database", f"{shown_url(settings.db)} accepts connections")
        database_ok = True
    except (DatabaseUnavailable, sqlite3.Error) as e:
        checks.fail("database", str(e))
        database_ok = False

    if database_ok:
        try:
            state = None if new_sqlite else migrations.state(settings.db)
        except Exception as e:
            checks.fail("schema", _first_line(e))
        else:
            if state is not None and not state.behind:
                checks.ok("schema", state.describe())
            else:
                where = state.describe() if state else f"none yet, head is {migrations.head()}"
                if settings.no_migrate:
                    checks.fail("schema", f"{where}; with --no-migrate the server refuses it: run `{PROG} migrate`")
                else:
                    checks.ok("schema", f"{where}; the server upgrades it at start")

    if settings.redis:
        try:
            checks.ok("redis", ping_redis(settings.redis))
        except OSError as e:
            checks.fail("redis", str(e))

    media = os.path.abspath(settings.media)
    parent = media
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if os.path.isdir(parent) and os.access(parent, os.W_OK):
        checks.ok("media", media + ("" if parent == media else " (the server creates it)"))
    else:
        checks.fail("media", f"{media}: {parent} is not a writable folder")

    if checks.failed:
        raise SystemExit(1)


def ping_redis(url: str) -> str:
    from meetsrv.config import redis_address

    host, port, dbid = redis_address(url)
    try:
        with socket.create_connection((host, port), timeout=5) as conn:
            conn.settimeout(5)
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = conn.recv(256).decode("utf-8", "replace").strip()
    except OSError as e:
        raise OSError(f"cannot connect to {host}:{port}: {e.strerror or e}")
    if reply != "+PONG":
        raise OSError(f"{host}:{port} answered PING with {reply[:80]!r}")
    return f"{host}:{port} answers PING"


# -- the command line ----------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="Each option can also be given as MEETSRV_<NAME> (e.g. MEETSRV_DB).")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db_help = "the server's --db (default: $MEETSRV_DB, else sqlite:///meetsrv.sqlite3)"
    p = sub.add_parser("migrate", help="upgrade the database schema to this release (the server does it at start too)")
    p.add_argument("--db", help=db_help)
    p.set_defaults(run=migrate)

    p = sub.add_parser("create-staff", help="create a staff account for the /admin/ pages",
                       description="Create a staff account. The password is asked twice on a terminal, "
                                   "else read from the first line of standard input.")
    p.add_argument("email")
    p.add_argument("--promote", action="store_true",
                   help="if an account with this email exists, make it staff and set this password")
    p.add_argument("--db", help=db_help)
    p.set_defaults(run=create_staff)

    p = sub.add_parser("check-config", help="check settings, database and Redis as the server would see them",
                       description="Build the settings from the server's options and MEETSRV_* variables "
                                   "and check that the database and Redis can be reached; one line per "
                                   "check, exit status 1 if one fails.")
    flags, parameters = server_options()
    for name, _short, doc in flags:
        p.add_argument(f"--{name}", action="store_true", help=doc)
    for name, _short, _default, doc in parameters:
        p.add_argument(f"--{name}", help=doc)
    p.set_defaults(run=check_config)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except Refused as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

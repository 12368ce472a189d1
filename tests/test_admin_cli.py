"""meetsrv-admin, run as an operator runs it: migrate, create-staff (password from standard input,
or asked twice on a terminal), check-config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest_twisted
from twisted.internet import defer, protocol

from meetsrv.store import migrations
from tests.clients.directory import member
from tests.clients.staff import STAFF, staff_login
from tests.support.backends import REDIS
from tests.support.waiting import in_thread

ADMIN = str(Path(sys.executable).parent / "meetsrv-admin")


class _Run(protocol.ProcessProtocol):
    def __init__(self, answers):
        self.answers = list(answers)  # (prompt, reply) pairs, for a terminal
        self.out = b""
        self.err = b""
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self.out += data
        while self.answers and self.answers[0][0].encode() in self.out.rsplit(b"\n", 1)[-1]:
            prompt, reply = self.answers.pop(0)
            self.out += b"\n"  # the reply is not echoed; keep prompts apart
            self.transport.write(reply.encode() + b"\n")

    def errReceived(self, data):
        self.err += data

    def processEnded(self, reason):
        self.ended.callback(reason.value.exitCode)


async def admin(*args, stdin: str | None = None, terminal=None, env=None):
    """(exit status, stdout, stderr) of meetsrv-admin; `terminal`: (prompt, reply) pairs typed
    on a pseudo-terminal (stdout and stderr are both on it then)."""
    from twisted.internet import reactor

    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEETSRV_") or k.startswith("MEETSRV_TEST")}
    environ.update(env or {})
    run = _Run(terminal or [])
    reactor.spawnProcess(run, ADMIN, [ADMIN, *args], env=environ, usePTY=terminal is not None)
    if terminal is None:
        if stdin is not None:
            run.transport.write(stdin.encode())
        run.transport.closeStdin()
    code = await run.ended.addTimeout(60, reactor)
    return code, run.out.decode(), run.err.decode()


@pytest_twisted.ensureDeferred
async def test_migrate_brings_the_database_to_head(fresh_db_url):
    code, out, err = await admin("migrate", "--db", fresh_db_url)
    assert code == 0, err
    assert out.strip().endswith(f"upgraded from empty to revision {migrations.head()} (head)")
    # the database as the server finds it: --db from the environment this time
    code, out, err = await admin("migrate", env={"MEETSRV_DB": fresh_db_url})
    assert code == 0, err
    assert out.strip().endswith(f"already at revision {migrations.head()} (head)")
    assert (await in_thread(migrations.state, fresh_db_url)).current == migrations.head()


@pytest_twisted.ensureDeferred
async def test_migrate_an_unreachable_database_is_one_line_and_status_1():
    code, out, err = await admin("migrate", "--db", "postgresql://nobody@127.0.0.1:1/nothing")
    assert code == 1 and out == ""
    assert err.startswith("meetsrv-admin: --db: cannot connect to PostgreSQL") and err.count("\n") == 1, err


@pytest_twisted.ensureDeferred
async def test_create_staff_reads_the_password_from_standard_input(server, http):
    db = server.settings.db
    code, out, err = await admin("create-staff", STAFF[0], "--db", db, stdin=STAFF[1] + "\n")
    assert code == 0, err
    assert out.startswith(f"staff account {STAFF[0]} (id ") and "created" in out
    assert (await staff_login(http, server)).code == 303
    # an existing account is refused, and keeps its password
    code, out, err = await admin("create-staff", STAFF[0], "--db", db, stdin="other-pass\n")
    assert code == 1 and out == ""
    assert err == f"meetsrv-admin: {STAFF[0]} already has an account; add --promote to make it staff with this password\n"
    assert (await staff_login(http, server)).code == 303
    # --promote makes an existing member staff, with the new password
    await member(http, server, "ann@example.com")
    assert (await staff_login(http, server, "ann@example.com", "new-pass")).code != 303
    code, out, err = await admin("create-staff", "ann@example.com", "--promote", "--db", db, stdin="new-pass\n")
    assert code == 0, err
    assert "is staff now" in out
    assert (await staff_login(http, server, "ann@example.com", "new-pass")).code == 303
    # an empty password is refused
    code, out, err = await admin("create-staff", "cid@example.com", "--db", db, stdin="\n")
    assert code == 1 and err == "meetsrv-admin: the password is empty\n"


@pytest_twisted.ensureDeferred
async def test_create_staff_asks_twice_on_a_terminal(server, http):
    db = server.settings.db
    code, out, _ = await admin("create-staff", STAFF[0], "--db", db,
                               terminal=[("Password: ", STAFF[1]), ("Password (again): ", STAFF[1])])
    assert code == 0, out
    assert STAFF[1] not in out  # not echoed
    assert f"staff account {STAFF[0]} (id " in out
    assert (await staff_login(http, server)).code == 303
    code, out, _ = await admin("create-staff", "cid@example.com", "--db", db,
                               terminal=[("Password: ", "one"), ("Password (again): ", "two")])
    assert code == 1 and "meetsrv-admin: the two passwords differ" in out


@pytest_twisted.ensureDeferred
async def test_create_staff_wants_a_migrated_database(fresh_db_url):
    code, out, err = await admin("create-staff", STAFF[0], "--db", fresh_db_url, stdin=STAFF[1] + "\n")
    assert code == 1 and out == ""
    assert err == (f"meetsrv-admin: the database is empty, head is {migrations.head()}; "
                   "run `meetsrv-admin migrate` first\n")


@pytest_twisted.ensureDeferred
async def test_check_config_passes_for_the_settings_of_a_running_server(server, tmp_path):
    args = ["check-config", "--db", server.settings.db, "--media", str(tmp_path / "media")]
    if REDIS:
        args += ["--redis", REDIS]
    code, out, err = await admin(*args)
    assert code == 0, out + err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == (
        ["ok    settings", "ok    database", "ok    schema"] + (["ok    redis"] if REDIS else []) + ["ok    media"]
    ), out
    assert lines[2].endswith(f"at revision {migrations.head()} (head)")


@pytest_twisted.ensureDeferred
async def test_check_config_reports_each_failure_and_changes_nothing(tmp_path):
    code, out, err = await admin(
        "check-config", "--redis", "redis://127.0.0.1:1/0", "--media", str(tmp_path / "media"),
        env={"MEETSRV_DB": f"sqlite:///{tmp_path}/missing/meetsrv.sqlite3"})
    assert code == 1, out + err
    lines = out.splitlines()
    assert lines[0].startswith("ok    settings:")
    assert lines[1] == f"FAIL  database: --db: cannot create {tmp_path}/missing/meetsrv.sqlite3: " \
                       f"folder {tmp_path}/missing is missing or not writable"
    assert lines[2] == "FAIL  redis: cannot connect to 127.0.0.1:1: Connection refused"
    assert lines[3].startswith("ok    media:") and len(lines) == 4
    assert list(tmp_path.iterdir()) == []
    # settings the server would refuse
    code, out, _ = await admin("check-config", env={"MEETSRV_DB": "mysql://root@127.0.0.1/x"})
    assert code == 1 and out.startswith("FAIL  settings: --db: unsupported database URL") and out.count("\n") == 1

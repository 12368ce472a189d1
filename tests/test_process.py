"""`twistd -n meetsrv` as a process: used as a client would, refusing bad options in one line,
and two processes on one PostgreSQL and Redis delivering each other's chat messages."""

from __future__ import annotations

import pytest
import pytest_twisted

from tests.support.backends import PG, REDIS
from tests.support.process import TwistdProcess, free_port


@pytest_twisted.ensureDeferred
async def test_twistd_serves_rooms_as_a_client_uses_them(tmp_path, http, ws):
    port = free_port()
    proc = TwistdProcess(["--port", f"tcp:{port}:interface=127.0.0.1"], cwd=str(tmp_path)).spawn()
    try:
        await proc.started()
        base = f"http://127.0.0.1:{port}"
        r = await http.get(base + "/healthz")
        assert r.code == 200
        a = (await http.post(base + "/v1/register", json_body={"login": "ann", "password": "pw"})).json["session_id"]
        b = (await http.post(base + "/v1/register", json_body={"login": "ben", "password": "pw"})).json["session_id"]
        ben = (await http.get(base + "/v1/info", headers={"X-Session-Id": b})).json
        room = (await http.post(base + "/v1/rooms", json_body={"users": [ben]}, headers={"X-Session-Id": a})).json
        sa = await ws(f"ws://127.0.0.1:{port}/v1/rooms/{room['id']}/chat?session_id={a}")
        sb = await ws(f"ws://127.0.0.1:{port}/v1/rooms/{room['id']}/chat?session_id={b}")
        sa.send_json({"text": "hello"})
        assert (await sb.next_json())["text"] == "hello"
        # the embedded default: a SQLite file in the working folder, and a kept secret
        assert (tmp_path / "meetsrv.sqlite3").exists()
        assert (tmp_path / "meetsrv.secret").exists()
    finally:
        await proc.stop()
    # twistd exits through the signal it got, after a clean shutdown
    assert "Server Shut Down." in proc.output and "Traceback" not in proc.output, proc.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--db", "mysql://root@127.0.0.1/x"], "--db: unsupported database URL"),
        (["--db", "postgresql://nobody@127.0.0.1:1/nothing", "--db-wait", "0"], "--db: cannot connect to PostgreSQL"),
        (["--db", "sqlite:////no/such/folder/x.sqlite3", "--db-wait", "0"], "--db: folder /no/such/folder does not exist"),
        (["--redis", "http://127.0.0.1:6379"], "--redis: unsupported Redis URL"),
        (["--redis", "redis://127.0.0.1:1/0"], "--redis: cannot connect"),
        (["--event-delay", "soon"], "--event-delay: expected a number"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_bad_option_fails_at_start_with_one_line(tmp_path, args, message):
    proc = TwistdProcess(["--port", f"tcp:{free_port()}:interface=127.0.0.1", *args], cwd=str(tmp_path)).spawn()
    code = await proc.ended()
    assert code != 0
    assert "Traceback" not in proc.output, proc.output
    lines = [line for line in proc.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], proc.output


@pytest.mark.skipif(not (PG and REDIS), reason="needs MEETSRV_TEST_POSTGRES and MEETSRV_TEST_REDIS")
@pytest_twisted.ensureDeferred
async def test_second_process_delivers_messages_sent_through_the_first(tmp_path, server, http, ws):
    """`server` runs in this process; a twistd process shares its PostgreSQL database and Redis."""
    settings = server.settings
    port = free_port()
    proc = TwistdProcess(
        ["--port", f"tcp:{port}:interface=127.0.0.1", "--db", settings.db, "--redis", settings.redis,
         "--redis-prefix", settings.redis_prefix, "--secret", settings.secret, "--media", str(tmp_path / "m")],
        cwd=str(tmp_path),
    ).spawn()
    try:
        await proc.started()
        other = f"http://127.0.0.1:{port}"
        a = (await http.post(server.url + "/v1/register", json_body={"login": "ann", "password": "pw"})).json["session_id"]
        b = (await http.post(other + "/v1/register", json_body={"login": "ben", "password": "pw"})).json["session_id"]
        ben = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": b})).json
        room = (await http.post(server.url + "/v1/rooms", json_body={"users": [ben]}, headers={"X-Session-Id": a})).json
        on_first = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat?session_id={a}")
        on_second = await ws(f"ws://127.0.0.1:{port}/v1/rooms/{room['id']}/chat?session_id={b}")
        on_first.send_json({"text": "across processes"})
        got = await on_second.next_json()
        assert got["text"] == "across processes" and got["room_id"] == room["id"]
        on_second.send_json({"text": "and back"})
        assert (await on_first.next_json())["text"] == "and back"
        # a logout on one process ends the session on the other (the credential cache is cleared)
        await http.get(other + "/v1/info", headers={"X-Session-Id": a})  # cached there now
        r = await http.post(server.url + "/v1/logout", json_body={}, headers={"X-Session-Id": a})
        assert r.code == 200
        r = await http.get(other + "/v1/info", headers={"X-Session-Id": a})
        assert r.code == 401
    finally:
        await proc.stop()


# -- start-up ------------------------------------------------------------------------------------

def one_line(proc) -> str:
    assert "Traceback" not in proc.output, proc.output
    lines = [line for line in proc.output.splitlines() if line.strip()]
    assert len(lines) == 1, proc.output
    return lines[0]


@pytest.mark.parametrize("port, message", [
    ("busy", "--port: cannot listen on tcp:{port}:interface=127.0.0.1: Address already in use"),
    ("tcp:notaport", "--port: 'tcp:notaport' is not a port description"),
    ("nonsense:1", "--port: 'nonsense:1' is not a port description"),
])
@pytest_twisted.ensureDeferred
async def test_a_port_that_cannot_be_listened_on_exits_1_and_makes_nothing(tmp_path, port, message):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        if port == "busy":
            number = taken.getsockname()[1]
            port, message = f"tcp:{number}:interface=127.0.0.1", message.format(port=number)
        proc = TwistdProcess(["--port", port], cwd=str(tmp_path)).spawn()
        assert await proc.ended() == 1
    assert message in one_line(proc)
    # the port is taken before anything is made: no database, secret or media folder
    assert list(tmp_path.iterdir()) == []


@pytest_twisted.ensureDeferred
async def test_no_migrate_from_the_environment_refuses_a_database_that_is_behind(tmp_path):
    proc = TwistdProcess(["--port", f"tcp:{free_port()}:interface=127.0.0.1"], cwd=str(tmp_path),
                         env={"MEETSRV_NO_MIGRATE": "1"}).spawn()
    assert await proc.ended() == 1
    assert "--no-migrate: the database is empty" in one_line(proc)


@pytest_twisted.ensureDeferred
async def test_an_unreachable_database_is_retried_for_db_wait_seconds(tmp_path):
    from twisted.internet import reactor

    began = reactor.seconds()
    proc = TwistdProcess(["--port", f"tcp:{free_port()}:interface=127.0.0.1", "--db-wait", "1",
                          "--db", f"sqlite:///{tmp_path}/later/meetsrv.sqlite3"], cwd=str(tmp_path)).spawn()
    assert await proc.ended() == 1
    assert reactor.seconds() - began >= 1
    assert one_line(proc).endswith(f"--db: folder {tmp_path}/later does not exist (retried for 1 s, --db-wait)")


async def _accepts(port: int, timeout: float = 30) -> None:
    """Wait until something listens on the port (a real process: no clock to drive)."""
    import socket

    from twisted.internet import reactor, task

    deadline = reactor.seconds() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if reactor.seconds() > deadline:
                raise
            await task.deferLater(reactor, 0.1, lambda: None)


@pytest_twisted.ensureDeferred
async def test_a_database_that_comes_up_within_db_wait_is_used(tmp_path, http):
    from twisted.internet import reactor, task

    port = free_port()
    later = tmp_path / "later"
    proc = TwistdProcess(["--port", f"tcp:{port}:interface=127.0.0.1", "--db-wait", "60",
                          "--db", f"sqlite:///{later}/meetsrv.sqlite3"], cwd=str(tmp_path)).spawn()
    try:
        await _accepts(port)  # the port is taken first, then the database is waited for
        await task.deferLater(reactor, 1.5, lambda: None)  # a retry or two
        assert not proc.watcher.ended.called, proc.output
        later.mkdir()  # the "database" comes up
        await proc.started()
        assert (await http.get(f"http://127.0.0.1:{port}/healthz")).code == 200
        assert (later / "meetsrv.sqlite3").exists()
    finally:
        await proc.stop()


@pytest.mark.skipif(not (PG and REDIS), reason="needs MEETSRV_TEST_POSTGRES and MEETSRV_TEST_REDIS")
@pytest_twisted.ensureDeferred
async def test_processes_joined_by_redis_share_one_signing_secret(tmp_path, fresh_db_url, http):
    """No --secret: the first process stores one in the database, the other reads it, so a JWT
    signed by one is good on the other (each has a data folder of its own: no file is shared)."""
    import types
    import uuid

    from twisted.internet import defer

    from tests.clients.directory import auth, member

    prefix = f"t{uuid.uuid4().hex[:8]}:"
    procs, urls = [], []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        port = free_port()
        procs.append(TwistdProcess(
            ["--port", f"tcp:{port}:interface=127.0.0.1", "--db", fresh_db_url, "--redis", REDIS,
             "--redis-prefix", prefix, "--media", str(tmp_path / "media")],
            cwd=str(tmp_path / name)).spawn())
        urls.append(f"http://127.0.0.1:{port}")
    try:
        await defer.gatherResults([defer.ensureDeferred(p.started()) for p in procs])
        _, access = await member(http, types.SimpleNamespace(url=urls[0]), "ann@example.com")
        for url in urls:
            r = await http.get(url + "/api/organizations/", headers=auth(access))
            assert r.code == 200, r
        # signed with the same key on both: a forged signature is refused on both
        forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
        for url in urls:
            assert (await http.get(url + "/api/organizations/", headers=auth(forged))).code == 401
    finally:
        for p in procs:
            await p.stop()
    assert not (tmp_path / "a" / "meetsrv.secret").exists() and not (tmp_path / "b" / "meetsrv.secret").exists()

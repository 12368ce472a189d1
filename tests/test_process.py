"""`twistd -n meetsrv` as a process: used as a client would, refusing bad options in one line,
and two processes on one PostgreSQL and Redis delivering each other's chat messages."""

from __future__ import annotations

import pytest
import pytest_twisted

from tests.conftest import PG, REDIS
from tests.process import TwistdProcess, free_port


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
        (["--db", "postgresql://nobody@127.0.0.1:1/nothing"], "--db: cannot connect to PostgreSQL"),
        (["--db", "sqlite:////no/such/folder/x.sqlite3"], "--db: folder /no/such/folder does not exist"),
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

"""`--workers N`: N processes share one port, a chat crosses them, a dead worker comes back,
and the option refuses what cannot work (no shared bus) with one line."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import pytest_twisted

from tests.support.backends import PG, REDIS
from tests.support.process import TwistdProcess, free_port
from tests.support.waiting import until

CONNECTIONS = 24  # a new connection lands on either worker: all 24 on one has odds 2**-23


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing paren
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.add(int(entry.name))
    return found


async def workers_seen(http, base: str) -> set[int]:
    seen = set()
    for _ in range(CONNECTIONS):
        r = await http.get(base + "/healthz")  # the test client opens a new connection each time
        assert r.code == 200
        seen.add(r.json["worker"])
    return seen


@pytest_twisted.ensureDeferred
async def test_workers_without_a_shared_bus_are_refused_in_one_line(tmp_path):
    proc = TwistdProcess(["--port", f"tcp:{free_port()}:interface=127.0.0.1", "--workers", "2"],
                         cwd=str(tmp_path)).spawn()
    proc.watcher.ready.addErrback(lambda failure: None)  # it never listens: that is the point
    code = await proc.ended()
    assert code != 0
    lines = [line for line in proc.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--workers: several processes need --redis" in lines[0], proc.output


@pytest.mark.skipif(not (PG and REDIS), reason="needs MEETSRV_TEST_POSTGRES and MEETSRV_TEST_REDIS")
@pytest_twisted.ensureDeferred
async def test_two_workers_serve_one_port_and_a_chat_crosses_them(tmp_path, server, http, ws):
    """`server` only provides this test run's PostgreSQL database and Redis prefix."""
    settings = server.settings
    port = free_port()
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    proc = TwistdProcess(
        ["--port", f"tcp:{port}:interface=127.0.0.1", "--workers", "2", "--db", settings.db,
         "--redis", settings.redis, "--redis-prefix", settings.redis_prefix, "--media", str(tmp_path / "m")],
        cwd=str(tmp_path), env={"MEETSRV_SECRET": settings.secret},
    ).spawn()
    try:
        await proc.wait_for("with 2 workers")
        assert await workers_seen(http, base) == {1, 2}

        a = (await http.post(base + "/v1/register", json_body={"login": "ann", "password": "pw"})).json["session_id"]
        b = (await http.post(base + "/v1/register", json_body={"login": "ben", "password": "pw"})).json["session_id"]
        ben = (await http.get(base + "/v1/info", headers={"X-Session-Id": b})).json
        room = (await http.post(base + "/v1/rooms", json_body={"users": [ben]}, headers={"X-Session-Id": a})).json
        sender = await ws(f"{ws_base}/v1/rooms/{room['id']}/chat?session_id={a}")
        # ben's sockets land on both workers (see CONNECTIONS); every one gets the message
        listeners = [await ws(f"{ws_base}/v1/rooms/{room['id']}/chat?session_id={b}") for _ in range(CONNECTIONS)]
        sender.send_json({"text": "across workers"})
        for listener in listeners:
            assert (await listener.next_json())["text"] == "across workers"

        # a worker killed outright is started again, and both serve once more
        workers = children_of(proc.transport.pid)
        assert len(workers) == 2
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        # real processes restart in real time
        await until(lambda: len(children_of(proc.transport.pid) - {victim}) == 2, timeout=30.0, step=0.2)
        await proc.wait_for("meetsrv listening on", 4)
        assert await workers_seen(http, base) == {1, 2}
        workers = children_of(proc.transport.pid)
    finally:
        await proc.stop()
    # stopping the supervisor stopped every worker first
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert proc.output.count("Server Shut Down.") == 3 and "Traceback" not in proc.output, proc.output

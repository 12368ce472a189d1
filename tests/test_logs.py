"""Logs: X-Request-Id on every answer, access lines for requests and sockets (--access-log), the
start-up line, and --log-format json as twistd writes it."""

from __future__ import annotations

import json
import re

import pytest
import pytest_twisted
from twisted.logger import eventFromJSON, formatEvent, globalLogPublisher

from tests.clients.directory import auth, member
from tests.clients.rooms import register
from tests.support.process import TwistdProcess, free_port
from tests.support.waiting import until

GENERATED_ID = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def events():
    """Every twisted.logger event emitted during the test."""
    seen = []
    globalLogPublisher.addObserver(seen.append)
    yield seen
    globalLogPublisher.removeObserver(seen.append)


def of(events, namespace: str) -> list[dict]:
    return [e for e in events if e.get("log_namespace") == namespace]


@pytest_twisted.ensureDeferred
async def test_request_id_is_generated_or_echoed_on_every_answer(start_server, http):
    server = await start_server(max_body=64)
    first = (await http.get(server.url + "/v1/info")).header("x-request-id")
    second = (await http.get(server.url + "/v1/info")).header("x-request-id")
    assert GENERATED_ID.fullmatch(first) and GENERATED_ID.fullmatch(second) and first != second
    sent = "3f0c2a9e-7d1b-4c55-9a0e-1b2c3d4e5f60"
    answers = [
        await http.get(server.url + "/v1/info", headers={"X-Request-Id": sent}),  # 401, rooms
        await http.get(server.url + "/healthz", headers={"X-Request-Id": sent}),
        await http.get(server.url + "/no/such/path", headers={"X-Request-Id": sent}),  # 404
        await http.request("DELETE", server.url + "/v1/info", headers={"X-Request-Id": sent}),  # 405
        await http.post(server.url + "/v1/register", data=b"x" * 100, headers={"X-Request-Id": sent}),  # 413
        await http.get(server.url + "/metrics", headers={"X-Request-Id": sent}),
    ]
    assert [r.code for r in answers] == [401, 200, 404, 405, 413, 200]
    assert [r.header("x-request-id") for r in answers] == [sent] * len(answers)
    # an id that is not one (spaces, a newline-ish character, too long) is replaced, not echoed
    for bad in ("two words", "semi;colon", "x" * 129, "quote\"d"):
        r = await http.get(server.url + "/v1/info", headers={"X-Request-Id": bad})
        assert GENERATED_ID.fullmatch(r.header("x-request-id")), (bad, r.header("x-request-id"))


@pytest_twisted.ensureDeferred
async def test_access_line_per_request_with_status_duration_door_and_user(start_server, http, events):
    server = await start_server(access_log=True)
    session = await register(http, server, "ann")
    ann = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": session})).json["id"]
    r = await http.get(server.url + "/v1/info", headers={"X-Session-Id": session, "X-Request-Id": "req-1"})
    assert r.code == 200
    await http.get(server.url + "/v1/info?q=secret", headers={"X-Request-Id": "req-2"})  # no session: 401
    dir_user, token = await member(http, server, "bo@example.com")
    await http.get(server.url + "/api/events/", headers={**auth(token), "X-Request-Id": "req-3"})
    generated = (await http.get(server.url + "/healthz")).header("x-request-id")
    lines = {e["request_id"]: e for e in of(events, "meetsrv.access")}

    line = lines["req-1"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/info", 200)
    assert (line["door"], line["route"], line["user_id"]) == ("rooms", "/v1/info/", ann)
    assert isinstance(line["duration_ms"], float) and 0 < line["duration_ms"] < 10_000
    assert line["client"] == "127.0.0.1"
    text = formatEvent(line)
    assert f"GET /v1/info 200 {line['duration_ms']}ms door=rooms user={ann} request_id=req-1" in text
    # not authenticated: no user; the query string is not logged
    assert (lines["req-2"]["status"], lines["req-2"]["user_id"], lines["req-2"]["path"]) == (401, None, "/v1/info")
    assert "secret" not in formatEvent(lines["req-2"])
    # another door records its user the same way
    assert (lines["req-3"]["door"], lines["req-3"]["user_id"]) == ("directory", dir_user["id"])
    # a generated id is logged as it was sent back
    assert GENERATED_ID.fullmatch(generated) and lines[generated]["door"] == "healthz"


@pytest_twisted.ensureDeferred
async def test_no_access_lines_by_default(server, http, events):
    await http.get(server.url + "/v1/info")
    assert of(events, "meetsrv.access") == []


@pytest_twisted.ensureDeferred
async def test_socket_open_and_close_lines(start_server, http, ws, events):
    server = await start_server(access_log=True)
    ann, ben = await register(http, server, "ann"), await register(http, server, "ben")
    ann_id = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": ann})).json["id"]
    ben_id = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": ben})).json["id"]
    room = (await http.post(server.url + "/v1/rooms", json_body={"users": [{"id": ben_id}]},
                            headers={"X-Session-Id": ann})).json
    sock = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat?session_id={ann}")
    opened = [e for e in of(events, "meetsrv.socket") if "opened" in e["log_format"]]
    assert [(e["door"], e["user_id"]) for e in opened] == [("rooms", ann_id)]
    sock.proto.sendClose(code=1000)
    await sock.wait_closed()
    await until(lambda: any("closed" in e["log_format"] for e in of(events, "meetsrv.socket")), timeout=5.0)
    closed, = [e for e in of(events, "meetsrv.socket") if "closed" in e["log_format"]]
    assert (closed["door"], closed["user_id"], closed["code"], closed["conn_id"]) == (
        "rooms", ann_id, 1000, opened[0]["conn_id"])
    assert closed["duration_s"] >= 0
    assert "socket closed door=rooms" in formatEvent(closed) and "code=1000" in formatEvent(closed)


@pytest_twisted.ensureDeferred
async def test_twistd_json_logs_one_object_per_line(tmp_path, http):
    port = free_port()
    proc = TwistdProcess(["--port", f"tcp:{port}:interface=127.0.0.1", "--access-log"], cwd=str(tmp_path),
                         env={"MEETSRV_LOG_FORMAT": "json"}).spawn()
    try:
        await proc.started()
        r = await http.get(f"http://127.0.0.1:{port}/v1/info", headers={"X-Request-Id": "from-proxy-7"})
        assert r.code == 401 and r.header("x-request-id") == "from-proxy-7"
    finally:
        await proc.stop()
    lines = [line for line in proc.output.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(e, dict) and "log_time" in e and "log_text" in e for e in parsed)
    access, = [e for e in parsed if e.get("request_id") == "from-proxy-7"]
    assert (access["method"], access["path"], access["status"], access["door"]) == ("GET", "/v1/info", 401, "rooms")
    assert access["log_namespace"] == "meetsrv.access" and access["duration_ms"] > 0
    # the line reads back as a twisted.logger event
    assert formatEvent(eventFromJSON(lines[parsed.index(access)])).startswith("127.0.0.1 GET /v1/info 401")
    start, = [e for e in parsed if e["log_text"].startswith("meetsrv listening")]
    assert start["address"] == f"127.0.0.1:{port}"
    assert start["database"] == f"sqlite {tmp_path.resolve() / 'meetsrv.sqlite3'}"
    assert start["bus"] == "in-process" and start["metrics"] == "/metrics"
    assert any(e["log_text"] == "Server Shut Down." for e in parsed)


@pytest_twisted.ensureDeferred
async def test_twistd_text_logs_by_default_and_bad_format_in_one_line(tmp_path):
    proc = TwistdProcess(["--port", f"tcp:{free_port()}:interface=127.0.0.1", "--log-format", "xml"],
                         cwd=str(tmp_path)).spawn()
    proc.watcher.ready.addErrback(lambda failure: None)  # it never listens: that is the point
    assert await proc.ended() != 0
    lines = [line for line in proc.output.splitlines() if line.strip()]
    assert lines == ["meetsrv: error: --log-format: expected json or text, got 'xml'"], proc.output


def test_failure_lines_carry_the_traceback():
    from twisted.logger import Logger, LogPublisher

    from meetsrv.logs import json_line

    out = []
    log = Logger(namespace="t", observer=LogPublisher(lambda e: out.append(json_line(e))))
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        log.failure("while dividing {what}", what="by zero")
    line, = out
    assert line.endswith("\n") and "\n" not in line[:-1]
    event = json.loads(line)
    assert event["log_text"] == "while dividing by zero" and event["what"] == "by zero"
    assert "ZeroDivisionError" in event["log_traceback"] and event["log_level"]["name"] == "critical"


def test_start_line_never_shows_a_database_password():
    from meetsrv.store.db import describe_database

    described = describe_database("postgresql://meet:s3cr3t@db.internal:5433/meetsrv")
    assert described == "postgresql db.internal:5433/meetsrv as meet"
    assert "s3cr3t" not in described

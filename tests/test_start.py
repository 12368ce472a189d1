"""Starting a server in-process: the port first, the signing secret shared through the database
by processes joined by Redis, the --debug warning. (twistd as a process: test_process.py.)"""

from __future__ import annotations

import socket

import pytest
import pytest_twisted

from meetsrv.config import ConfigError
from tests.support.backends import REDIS


@pytest_twisted.ensureDeferred
async def test_a_busy_port_fails_before_anything_is_made(start_server, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as refused:
            await start_server(port=f"tcp:{port}:interface=127.0.0.1", secret=None,
                               media=str(tmp_path / "media"), db=f"sqlite:///{tmp_path}/db.sqlite3")
    assert str(refused.value).startswith(f"--port: cannot listen on tcp:{port}:interface=127.0.0.1:")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not REDIS, reason="needs MEETSRV_TEST_REDIS")
@pytest_twisted.ensureDeferred
async def test_processes_joined_by_redis_take_the_secret_from_the_database(start_server, make_settings,
                                                                          tmp_path, monkeypatch):
    """The first one stores the secret that an earlier single-process start kept in its data
    folder (tokens survive the move); the next one, without that file, reads it."""
    kept = "kept-by-an-earlier-start-0123456789abcdef"
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    # the data folder of a PostgreSQL server is its working folder
    monkeypatch.chdir(tmp_path / "first")
    make_settings().secret_file().write_text(kept)
    first = await start_server(secret=None)
    assert first.settings.secret == kept
    monkeypatch.chdir(tmp_path / "second")
    second = await start_server(secret=None)
    assert second.settings.secret == kept
    assert list((tmp_path / "second").iterdir()) == []  # no secret file of its own


def test_the_database_is_retried_until_it_answers_or_db_wait_is_over(tmp_path):
    """wait_for_database with a fake clock: one try a second, then one line."""
    from meetsrv.service import wait_for_database

    url = f"sqlite:///{tmp_path}/later/meetsrv.sqlite3"
    now = [0.0]
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        now[0] += seconds
        if len(naps) == 3 and url.endswith("/later/meetsrv.sqlite3"):
            (tmp_path / "later").mkdir()  # the database comes up during the third wait

    wait_for_database(url, 30, sleep=sleep, now=lambda: now[0])
    assert naps == [1.0, 1.0, 1.0]

    naps.clear()
    now[0] = 0.0
    url = f"sqlite:///{tmp_path}/never/x.sqlite3"
    with pytest.raises(ConfigError) as gave_up:
        wait_for_database(url, 2.5, sleep=sleep, now=lambda: now[0])
    assert naps == [1.0, 1.0, 0.5]
    assert str(gave_up.value) == f"--db: folder {tmp_path}/never does not exist (retried for 2.5 s, --db-wait)"


@pytest_twisted.ensureDeferred
async def test_debug_logs_a_loud_warning_at_start(start_server):
    from twisted.logger import LogLevel, globalLogPublisher

    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        await start_server(debug=True)
        await start_server(debug=False)
    finally:
        globalLogPublisher.removeObserver(events.append)
    loud = [e for e in events if "--debug is ON" in e.get("log_format", "")]
    assert len(loud) == 1 and loud[0]["log_level"] == LogLevel.warn

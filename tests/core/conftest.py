"""The core layer's database: the schema at head on this run's database (a SQLite file of the
test's own, or the PostgreSQL test database emptied by `db_url`), without a server."""

from __future__ import annotations

import pytest_twisted

from tests.support.waiting import in_thread


@pytest_twisted.async_yield_fixture
async def database(db_url):
    from twisted.internet import reactor

    from meetsrv.store import migrations
    from meetsrv.store.db import Database

    await in_thread(migrations.upgrade, db_url)
    db = Database(db_url, reactor)
    yield db
    db.close()

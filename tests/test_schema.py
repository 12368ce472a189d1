"""schema.sql is generated from the tables and must not go stale; the schema applies twice."""

from pathlib import Path

import pytest_twisted

from meetsrv.store.schema import render

ROOT = Path(__file__).resolve().parents[1]


def test_schema_sql_is_current():
    assert (ROOT / "schema.sql").read_text() == render(), (
        "schema.sql is stale: run `python -m meetsrv.store.schema > schema.sql`"
    )


@pytest_twisted.ensureDeferred
async def test_schema_creation_is_idempotent(make_settings):
    from twisted.internet import reactor

    from meetsrv.store.db import Database

    db = Database(make_settings().db, reactor)
    try:
        await db.create_schema()
        await db.create_schema()
    finally:
        db.close()

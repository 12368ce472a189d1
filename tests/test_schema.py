"""schema.sql is generated from the tables and must not go stale (test_migrations.py checks that
the migrations give the same schema)."""

from pathlib import Path

from meetsrv.store.schema import render

ROOT = Path(__file__).resolve().parents[1]


def test_schema_sql_is_current():
    assert (ROOT / "schema.sql").read_text() == render(), (
        "schema.sql is stale: run `python -m meetsrv.store.schema > schema.sql`"
    )

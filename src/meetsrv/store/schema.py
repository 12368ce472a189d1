"""Writes schema.sql (PostgreSQL DDL) from tables.py: python -m meetsrv.store.schema > schema.sql

The server builds its schema with the migrations (store/migrations/); a test checks that the
migrations at head give exactly tables.py, so this file is the schema of a migrated database too.
"""

from sqlalchemy.dialects import postgresql

from meetsrv.store.db import schema_statements
from meetsrv.store.migrations import search_index_statements

HEADER = (
    "-- Generated from src/meetsrv/store/tables.py (+ the search indexes of migration 0001) by "
    "`python -m meetsrv.store.schema`; do not edit.\n"
    "-- The server creates and upgrades its schema with the migrations in src/meetsrv/store/migrations/.\n"
)


def render() -> str:
    statements = schema_statements(postgresql.psycopg2.dialect()) + search_index_statements("postgresql")
    return HEADER + "\n".join(s + ";\n" for s in statements)


if __name__ == "__main__":
    print(render(), end="")

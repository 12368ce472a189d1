"""Writes schema.sql (PostgreSQL DDL) from tables.py: python -m meetsrv.store.schema > schema.sql

The server builds its schema with the migrations (store/migrations/); a test checks that the
migrations at head give exactly tables.py, so this file is the schema of a migrated database too.
"""

from sqlalchemy.dialects import postgresql

from meetsrv.store.db import schema_statements
from meetsrv.store.migrations import count_trigger_statements, head, search_index_statements

HEADER = (
    "-- Generated from src/meetsrv/store/tables.py (+ the search indexes of migration 0001 and the "
    "list count triggers of 0004) by "
    "`python -m meetsrv.store.schema`; do not edit.\n"
    "-- The server creates and upgrades its schema with the migrations in src/meetsrv/store/migrations/.\n"
)


def stamp_statements() -> list[str]:
    """The revision this schema is, recorded as alembic records it: a database loaded from this
    file is at head, and the server does not try to migrate it again."""
    return [
        "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
        f"INSERT INTO alembic_version (version_num) SELECT '{head()}' "
        "WHERE NOT EXISTS (SELECT 1 FROM alembic_version)",
    ]


def render() -> str:
    dialect = postgresql.psycopg2.dialect()  # type: ignore[no-untyped-call]
    statements = (schema_statements(dialect) + search_index_statements("postgresql")
                  + count_trigger_statements("postgresql") + stamp_statements())
    return HEADER + "\n".join(s + ";\n" for s in statements)


if __name__ == "__main__":
    print(render(), end="")

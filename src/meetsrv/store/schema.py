"""Writes schema.sql (PostgreSQL DDL) from tables.py: python -m meetsrv.store.schema > schema.sql"""

from sqlalchemy.dialects import postgresql

from meetsrv.store.db import extra_statements, schema_statements

HEADER = "-- Generated from src/meetsrv/store/tables.py (+ EXTRA_DDL in db.py) by `python -m meetsrv.store.schema`; do not edit.\n"


def render() -> str:
    statements = schema_statements(postgresql.psycopg2.dialect()) + extra_statements("postgresql")
    return HEADER + "\n".join(s + ";\n" for s in statements)


if __name__ == "__main__":
    print(render(), end="")

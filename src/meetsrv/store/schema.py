"""Writes schema.sql (PostgreSQL DDL) from tables.py: python -m meetsrv.store.schema > schema.sql"""

from sqlalchemy.dialects import postgresql

from meetsrv.store.db import schema_statements

HEADER = "-- Generated from src/meetsrv/store/tables.py by `python -m meetsrv.store.schema`; do not edit.\n"


def render() -> str:
    return HEADER + "\n".join(s + ";\n" for s in schema_statements(postgresql.psycopg2.dialect()))


if __name__ == "__main__":
    print(render(), end="")

"""Every list is read in an index's order: the query plans on SQLite and PostgreSQL show an
index serving the ORDER BY (no sort of every row), so a page costs the same at 1k and 1M rows."""

from __future__ import annotations

import pytest
import pytest_twisted

from meetsrv.store.meetings.directory import _page_statements


def _sqlite_plan(t, compiled, params):
    t.cursor.execute("EXPLAIN QUERY PLAN " + compiled.sql, dict(compiled.defaults, **params))
    return " | ".join(str(row[-1]) for row in t.cursor.fetchall())


def _postgresql_plan(t, compiled, params):
    # tiny test tables: make the planner show what it would do with many rows
    t.cursor.execute("SET LOCAL enable_seqscan = off")
    t.cursor.execute("SET LOCAL enable_sort = off")
    t.cursor.execute("EXPLAIN " + compiled.sql, dict(compiled.defaults, **params))
    return " | ".join(row[0] for row in t.cursor.fetchall())


async def plan_of(db, stmt, **params) -> str:
    explain = _sqlite_plan if db.name == "sqlite" else _postgresql_plan
    return await db.interact("test.plan", explain, db.compile(stmt), params)


@pytest.mark.parametrize(
    "ordering, index",
    [(None, "ix_meetings_kind_id"), ("date", "ix_meetings_kind_by_date"), ("-date", "ix_meetings_kind_by_date_desc")],
)
@pytest.mark.parametrize("filters", [{}, {"search": "%a%"}])
@pytest_twisted.ensureDeferred
async def test_directory_events_list_is_read_in_index_order(server, ordering, index, filters):
    _, rows = _page_statements(frozenset(filters), ordering)
    plan = await plan_of(server.db, rows, limit=20, offset=0, **filters)
    if server.db.name == "sqlite":
        assert f"USING INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
    else:
        assert ("Index Scan using" in plan or "Index Scan Backward using" in plan) and f" {index}" in plan, plan
        assert "Sort" not in plan, plan


@pytest.mark.parametrize("ordering", [None, "date", "-date"])
@pytest_twisted.ensureDeferred
async def test_directory_events_filtered_by_date_read_only_that_range(server, ordering):
    """A date filter reads its range from an index (the planner may then sort the matches)."""
    filters = {"date_gte": "2031-01-01", "date_lte": "2031-02-01"}
    _, rows = _page_statements(frozenset(filters), ordering)
    plan = await plan_of(server.db, rows, limit=20, offset=0, **filters)
    if server.db.name == "sqlite":
        assert "date>? AND date<?" in plan and "SCAN meetings" not in plan, plan
    else:
        assert "Index Cond" in plan and "date)::text >=" in plan and "Seq Scan" not in plan, plan

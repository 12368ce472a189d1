"""The backends this test run uses: PostgreSQL and Redis when MEETSRV_TEST_POSTGRES and
MEETSRV_TEST_REDIS name them, SQLite and the in-process bus otherwise."""

from __future__ import annotations

import os

PG = os.environ.get("MEETSRV_TEST_POSTGRES") or None
REDIS = os.environ.get("MEETSRV_TEST_REDIS") or None

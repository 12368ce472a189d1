"""Storage of the meetings domain (mirrors meetsrv.core.meetings)."""

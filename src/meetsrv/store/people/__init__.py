"""Storage of the people domain (mirrors meetsrv.core.people)."""

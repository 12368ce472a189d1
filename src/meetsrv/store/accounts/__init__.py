"""Storage of the accounts domain (mirrors meetsrv.core.accounts)."""

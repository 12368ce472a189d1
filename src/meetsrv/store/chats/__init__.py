"""Storage of the chats domain (mirrors meetsrv.core.chats)."""

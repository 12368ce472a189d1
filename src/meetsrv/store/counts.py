"""Row counts of paginated lists, kept by triggers (tables.list_counts, migration 0004): a
page's "count" read from one row instead of counting every row of the table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ClauseElement, bindparam, select

from meetsrv.store.db import Txn
from meetsrv.store.tables import list_counts

DIRECTORY_EVENTS = "meetings.directory"
ORGANIZATIONS = "organizations"


def lobby_messages(chat_id: int) -> str:
    """The count of a lobby chat's messages, made with the chat (other chats' are not kept:
    counted)."""
    return f"messages.lobby.{chat_id}"


_kept = select(list_counts.c.n).where(list_counts.c.name == bindparam("name"))


def count_txn(t: Txn, name: str, counting: ClauseElement, **params: Any) -> int:
    """The kept count `name`, or `counting` (a COUNT(*) statement over the same rows) when its
    row is missing (list_counts emptied by hand or by TRUNCATE: the next insert starts it again)."""
    kept = t.scalar(_kept, name=name)
    if kept is None:
        kept = t.scalar(counting, **params)
    return int(kept)

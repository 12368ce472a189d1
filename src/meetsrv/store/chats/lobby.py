"""The directory lobby's message history: counted and paged, newest first, with sender emails."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select

from meetsrv.store.db import Database
from meetsrv.store.tables import messages, users

_count = select(func.count()).select_from(messages).where(messages.c.chat_id == bindparam("chat_id"))
_page = (
    select(messages.c.id, messages.c.text, messages.c.created, messages.c.user_id, users.c.email)
    .outerjoin(users, users.c.id == messages.c.user_id)
    .where(messages.c.chat_id == bindparam("chat_id"))
    .order_by(messages.c.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


class DirectoryChatStore:
    def __init__(self, db: Database):
        self.db = db

    def page(self, chat_id: int, limit: int, offset: int):
        def run(t):
            return t.scalar(_count, chat_id=chat_id), t.rows(_page, chat_id=chat_id, limit=limit, offset=offset)

        return self.db.interact("chats.lobby.page", run)

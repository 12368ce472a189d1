"""Secrets shared by every process of one deployment (the server_secrets table)."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select

from meetsrv.store.db import Conflict, Database
from meetsrv.store.tables import server_secrets

_get = select(server_secrets.c.value).where(server_secrets.c.name == bindparam("name"))
_put = insert(server_secrets).values(name=bindparam("name"), value=bindparam("value"),
                                     created=bindparam("created"))


class ServerSecretStore:
    def __init__(self, db: Database):
        self.db = db

    async def shared(self, name: str, candidate: str, now: float) -> str:
        """The stored value of `name`; if there is none yet, `candidate` is stored. Processes
        starting at once all get the one value that won the insert."""
        value: str | None = await self.db.scalar("server.secrets.get", _get, name=name)
        if value is not None:
            return value
        try:
            await self.db.execute("server.secrets.put", _put, name=name, value=candidate, created=now)
        except Conflict:
            pass  # another process stored it first
        stored: str = await self.db.scalar("server.secrets.get", _get, name=name)
        return stored

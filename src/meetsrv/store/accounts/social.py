"""Social identities (provider + external id)."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.accounts.users import insert_user_txn
from meetsrv.store.db import Database, Txn
from meetsrv.store.tables import social_identities

_identity = select(social_identities.c.user_id).where(
    (social_identities.c.provider == bindparam("provider"))
    & (social_identities.c.external_id == bindparam("external_id"))
)
_insert_identity = insert(social_identities).values(
    user_id=bindparam("user_id"),
    provider=bindparam("provider"),
    external_id=bindparam("external_id"),
    token=bindparam("token"),
)
_set_token = (
    update(social_identities)
    .where(
        (social_identities.c.provider == bindparam("provider"))
        & (social_identities.c.external_id == bindparam("external_id"))
    )
    .values(token=bindparam("token"))
)


def signup_txn(t: Txn, provider: str, external_id: str, token: str, name: str, username: str, now: float,
               door: str) -> int:
    """A new user with its social identity, in one transaction. Returns the user id."""
    user_id = insert_user_txn(t, now, username=username, name=name, door=door)
    t.execute(_insert_identity, user_id=user_id, provider=provider, external_id=external_id, token=token)
    return user_id


class SocialStore:
    def __init__(self, db: Database):
        self.db = db

    def user_for(self, provider: str, external_id: str) -> Deferred[int | None]:
        return self.db.scalar("accounts.social.user_for", _identity, provider=provider, external_id=external_id)

    def signup(self, provider: str, external_id: str, token: str, name: str, username: str, now: float,
               door: str = "social") -> Deferred[int]:
        """A new user (who came from `door`) with its social identity; the user id."""
        return self.db.interact("accounts.social.signup", signup_txn, provider, external_id, token, name, username,
                                now, door)

    def set_token(self, provider: str, external_id: str, token: str) -> Deferred[int]:
        return self.db.execute("accounts.social.set_token", _set_token, provider=provider, external_id=external_id, token=token)

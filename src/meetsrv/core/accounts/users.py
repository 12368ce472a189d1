"""Accounts: sign up and sign in by username and password; users by id; user search."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from meetsrv.core.accounts.limiter import LoginLimiter, PasswordLogin
from meetsrv.core.accounts.passwords import PasswordHasher
from meetsrv.core.clock import Clock
from meetsrv.core.errors import AlreadyExists, UserNotFound, WrongCredentials
from meetsrv.store.accounts.users import User, UserStore
from meetsrv.store.db import Conflict, NowOrLater, Row


def username_account(username: str) -> str:
    """The name a username's failed logins are counted under (case folded: spellings of one
    name share one count)."""
    return username.casefold()


class AccountService:
    def __init__(self, users: UserStore, passwords: PasswordHasher, clock: Clock, limiter: LoginLimiter):
        self.users = users
        self.passwords = passwords
        self.clock = clock
        # the rooms and campus doors sign in by username through this, and only this
        self.password_login = PasswordLogin(limiter, "username", self.verify_password, username_account)

    async def register(self, username: str, password: str, **profile: Any) -> int:
        """Create a user with a username and password; AlreadyExists if the name is taken."""
        existing = await self.users.id_by_username(username)
        if existing is not None:
            raise AlreadyExists("user already exists")
        password_hash = await self.passwords.hash(password)
        profile.setdefault("name", username)
        try:
            user_id = await self.users.insert(
                self.clock.seconds(), username=username, password_hash=password_hash, **profile
            )
        except Conflict:
            raise AlreadyExists("user already exists")
        return user_id

    async def verify_password(self, username: str, password: str) -> User:
        """The user for a right username and password; UserNotFound / WrongCredentials.
        Not limited: sign-ins go through `password_login`."""
        user = await self.users.get_by_username(username)
        ok = await self.passwords.verify(password, user.password_hash if user else None)
        if user is None:
            raise UserNotFound("user not found")
        if not ok or not user.active:  # a deactivated account signs in nowhere
            raise WrongCredentials("wrong credentials")
        return user

    async def get(self, user_id: int) -> User | None:
        return await self.users.get(user_id)

    def shown(self, user_id: int) -> NowOrLater[User | None]:
        """The user to show, or None: at once when the read cache has it, else a Deferred."""
        return self.users.get_cached(user_id)

    async def get_many(self, ids: Iterable[int]) -> list[Row]:
        return await self.users.get_many(ids)

    async def search_username(self, query: str, limit: int = 100) -> list[Row]:
        if not query:
            return []
        return await self.users.search_username(query, limit)

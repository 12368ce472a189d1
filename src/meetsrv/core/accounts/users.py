"""Accounts: sign up and sign in by username and password; users by id; user search."""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.accounts.limiter import LoginLimiter, PasswordLogin
from meetsrv.core.errors import AlreadyExists, UserNotFound, WrongCredentials
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.db import Conflict


def username_account(username: str) -> str:
    """The name a username's failed logins are counted under (case folded: spellings of one
    name share one count)."""
    return username.casefold()


class AccountService:
    def __init__(self, users: UserStore, passwords, clock, limiter: LoginLimiter):
        self.users = users
        self.passwords = passwords
        self.clock = clock
        # the rooms and campus doors sign in by username through this, and only this
        self.password_login = PasswordLogin(limiter, "username", self.verify_password, username_account)

    @defer.inlineCallbacks
    def register(self, username: str, password: str, **profile):
        """Create a user with a username and password; AlreadyExists if the name is taken."""
        existing = yield self.users.id_by_username(username)
        if existing is not None:
            raise AlreadyExists("user already exists")
        password_hash = yield self.passwords.hash(password)
        profile.setdefault("name", username)
        try:
            user_id = yield self.users.insert(
                self.clock.seconds(), username=username, password_hash=password_hash, **profile
            )
        except Conflict:
            raise AlreadyExists("user already exists")
        return user_id

    @defer.inlineCallbacks
    def verify_password(self, username: str, password: str):
        """The user row for a right username and password; UserNotFound / WrongCredentials.
        Not limited: sign-ins go through `password_login`."""
        user = yield self.users.get_by_username(username)
        ok = yield self.passwords.verify(password, user["password_hash"] if user else None)
        if user is None:
            raise UserNotFound("user not found")
        if not ok or not user["active"]:  # a deactivated account signs in nowhere
            raise WrongCredentials("wrong credentials")
        return user

    def get(self, user_id: int):
        return self.users.get(user_id)

    def get_many(self, ids):
        return self.users.get_many(ids)

    def search_username(self, query: str, limit: int = 100):
        if not query:
            return defer.succeed([])
        return self.users.search_username(query, limit)

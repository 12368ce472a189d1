"""The one login limiter: every password sign-in of every door goes through `PasswordLogin.check`.

Policy: per account (the login name, as its account service finds it), at most `max_failures`
failed password checks in a window of `window` seconds; after that the account's password is not
checked at all until the window, which starts at the first counted failure, has passed. A right
password resets the count, so successes never add up to a lock-out.

The count lives in the ephemeral store (in-process, or Redis so that every process shares it);
its expiry is read from the injected clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from meetsrv.bus import Ephemeral
from meetsrv.core.errors import RateLimited
from meetsrv.store.accounts.users import User

MAX_FAILURES = 10
WINDOW = 15 * 60.0


class LoginLimited(RateLimited):
    """Too many failed logins for this account; try again when the window has passed."""

    code = "too_many_attempts"


class LoginLimiter:
    """Failed password checks per (kind of login name, account) in the ephemeral store."""

    def __init__(self, ephemeral: Ephemeral, max_failures: int = MAX_FAILURES, window: float = WINDOW):
        self.ephemeral = ephemeral
        self.max_failures = max_failures
        self.window = window

    @staticmethod
    def key(scope: str, account: str) -> str:
        # hashed: bounded keys, and no login names or email addresses in Redis
        return f"login-failures:{scope}:" + hashlib.sha256(account.encode("utf-8", "surrogatepass")).hexdigest()

    async def attempt(self, scope: str, account: str) -> None:
        """Count one attempt before its password is checked; LoginLimited when this account
        already has `max_failures` failures in the window. Counting first (not after the slow
        check) means parallel guesses cannot all slip through before any of them is counted."""
        count = await self.ephemeral.incr(self.key(scope, account), self.window)
        if count > self.max_failures:
            raise LoginLimited("too many failed logins, try again later")

    async def succeeded(self, scope: str, account: str) -> None:
        """The password was right: the account's count starts again from nothing."""
        await self.ephemeral.delete(self.key(scope, account))


class PasswordLogin:
    """A password check behind the limiter, for one kind of login name (usernames, emails).

    `verify(login, password)` is the account service's unlimited check: the user row, or a
    DomainError (UserNotFound, WrongCredentials) for a failure. `account(login)` is the
    normalized name its lookup matches, so spellings of one account share one count.
    """

    def __init__(self, limiter: LoginLimiter, scope: str, verify: Callable[[str, str], Awaitable[User]],
                 account: Callable[[str], str]):
        self.limiter = limiter
        self.scope = scope
        self.verify = verify
        self.account = account

    async def check(self, login: str, password: str) -> User:
        """The user row for the right password; LoginLimited, or the verifier's error."""
        account = self.account(login)
        await self.limiter.attempt(self.scope, account)
        user = await self.verify(login, password)
        await self.limiter.succeeded(self.scope, account)
        return user

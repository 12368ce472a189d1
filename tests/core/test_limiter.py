"""The login limiter without HTTP: a PasswordLogin over LocalEphemeral, time from a task.Clock."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer, task

from meetsrv.bus.local import LocalEphemeral
from meetsrv.core.accounts.limiter import LoginLimited, LoginLimiter, PasswordLogin
from meetsrv.core.errors import UserNotFound, WrongCredentials
from tests.support.backends import REDIS

PASSWORDS = {"ann": "right", "bob": "right"}


class Accounts:
    """A stand-in for an account service's unlimited check; counts the checks it made."""

    def __init__(self):
        self.checked = 0
        self.hold: list[defer.Deferred] | None = None

    def verify(self, login, password):
        self.checked += 1
        if login not in PASSWORDS:
            result = defer.fail(UserNotFound("user not found"))
        elif PASSWORDS[login] != password:
            result = defer.fail(WrongCredentials("wrong credentials"))
        else:
            result = defer.succeed({"username": login})
        if self.hold is None:
            return result
        held = defer.Deferred()  # a slow check (the real one hashes on a thread)
        self.hold.append(held)
        return held.addCallback(lambda _: result)


def login_over(ephemeral, accounts, **policy):
    return PasswordLogin(LoginLimiter(ephemeral, **policy), "username", accounts.verify, str.casefold)


@pytest.fixture
def clock():
    c = task.Clock()
    c.advance(1_700_000_000)
    return c


async def outcome(login: PasswordLogin, name: str, password: str) -> str:
    try:
        await login.check(name, password)
    except LoginLimited:
        return "limited"
    except (UserNotFound, WrongCredentials):
        return "wrong"
    return "ok"


@pytest_twisted.ensureDeferred
async def test_failures_lock_the_account_until_the_window_passes(clock):
    accounts = Accounts()
    login = login_over(LocalEphemeral(clock), accounts, max_failures=10, window=900)
    assert [await outcome(login, "ann", "guess") for _ in range(10)] == ["wrong"] * 10
    clock.advance(500)
    assert await outcome(login, "ann", "right") == "limited"
    assert await outcome(login, "ann", "guess") == "limited"
    assert accounts.checked == 10  # a locked account's password is not even checked
    # the window started at the first failure
    clock.advance(399)
    assert await outcome(login, "ann", "right") == "limited"
    clock.advance(1)
    assert await outcome(login, "ann", "right") == "ok"


@pytest_twisted.ensureDeferred
async def test_a_success_resets_the_count(clock):
    login = login_over(LocalEphemeral(clock), Accounts(), max_failures=10, window=900)
    for _ in range(3):
        assert [await outcome(login, "ann", "guess") for _ in range(9)] == ["wrong"] * 9
        assert await outcome(login, "ann", "right") == "ok"
    # successes never add up either
    assert [await outcome(login, "ann", "right") for _ in range(30)] == ["ok"] * 30
    assert [await outcome(login, "ann", "guess") for _ in range(10)] == ["wrong"] * 10
    assert await outcome(login, "ann", "right") == "limited"


@pytest_twisted.ensureDeferred
async def test_counts_are_per_account_and_spellings_share_one(clock):
    login = login_over(LocalEphemeral(clock), Accounts(), max_failures=3, window=60)
    for name in ("ann", "ANN", "Ann"):
        assert await outcome(login, name, "guess") == "wrong"
    assert await outcome(login, "ann", "right") == "limited"
    assert await outcome(login, "bob", "right") == "ok"
    # an unknown login name is counted like a known one (no difference to probe)
    assert [await outcome(login, "nobody", "x") for _ in range(4)] == ["wrong"] * 3 + ["limited"]


@pytest_twisted.ensureDeferred
async def test_parallel_guesses_are_counted_before_the_slow_check(clock):
    accounts = Accounts()
    accounts.hold = []
    login = login_over(LocalEphemeral(clock), accounts, max_failures=10, window=900)
    guesses = [defer.ensureDeferred(outcome(login, "ann", f"guess{i}")) for i in range(50)]
    assert accounts.checked == 10  # the other 40 were refused before any check finished
    for held in accounts.hold:
        held.callback(None)
    results = await defer.gatherResults(guesses)
    assert results.count("wrong") == 10 and results.count("limited") == 40


@pytest_twisted.ensureDeferred
async def test_usernames_and_emails_count_apart_on_one_limiter(clock):
    """One limiter serves both kinds of login name (services.py); "ann" the username and "ann"
    the email are two accounts."""
    limiter = LoginLimiter(LocalEphemeral(clock), max_failures=2, window=60)
    usernames = PasswordLogin(limiter, "username", Accounts().verify, str.casefold)
    emails = PasswordLogin(limiter, "email", Accounts().verify, str.casefold)
    assert [await outcome(usernames, "ann", "guess") for _ in range(3)] == ["wrong", "wrong", "limited"]
    assert await outcome(emails, "ann", "right") == "ok"


class RecordingEphemeral(LocalEphemeral):
    """LocalEphemeral that notes every key it is given."""

    def __init__(self, clock):
        super().__init__(clock)
        self.keys: set[str] = set()

    def incr(self, key, ttl):
        self.keys.add(key)
        return super().incr(key, ttl)

    def delete(self, key):
        self.keys.add(key)
        return super().delete(key)


@pytest_twisted.ensureDeferred
async def test_no_login_name_reaches_the_store(clock):
    ephemeral = RecordingEphemeral(clock)
    login = login_over(ephemeral, Accounts(), max_failures=3, window=60)
    for name, password in (("Ann", "guess"), ("ann", "right"), ("nobody@example.com", "x")):
        await outcome(login, name, password)
    assert len(ephemeral.keys) == 2  # "Ann" and "ann" are one account
    for key in ephemeral.keys:
        scope, _, digest = key.removeprefix("login-failures:").partition(":")
        assert scope == "username" and len(digest) == 64 and int(digest, 16) >= 0, key


@pytest_twisted.ensureDeferred
async def test_the_policy_is_a_parameter(clock):
    login = login_over(LocalEphemeral(clock), Accounts(), max_failures=2, window=10)
    assert [await outcome(login, "ann", "guess") for _ in range(3)] == ["wrong", "wrong", "limited"]
    clock.advance(10)
    assert await outcome(login, "ann", "right") == "ok"


if REDIS:
    @pytest_twisted.ensureDeferred
    async def test_two_processes_share_the_count_over_redis(make_settings, clock):
        from meetsrv.bus.redis import RedisBus, RedisEphemeral
        from meetsrv.config import redis_address

        settings = make_settings()
        buses = [RedisBus(*redis_address(REDIS), prefix=settings.redis_prefix) for _ in range(2)]
        for bus in buses:
            await bus.start()
        try:
            one, two = (login_over(RedisEphemeral(bus, clock), Accounts(), max_failures=4, window=900)
                        for bus in buses)
            for login in (one, two, one, two):
                assert await outcome(login, "ann", "guess") == "wrong"
            assert await outcome(one, "ann", "right") == "limited"
            assert await outcome(two, "ann", "right") == "limited"
            clock.advance(900)
            assert await outcome(two, "ann", "right") == "ok"
            # the success on one process reset the count for the other
            for _ in range(3):
                assert await outcome(one, "ann", "guess") == "wrong"
            assert await outcome(two, "ann", "right") == "ok"
        finally:
            for bus in buses:
                await bus.stop()

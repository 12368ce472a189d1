"""Credentials for every door: issue, authenticate (through a small cache), revoke.

Tokens are random and long, so a fast hash (sha256) at rest is enough; the cache maps that hash
to the user so an authenticated request costs no query in the common case. Revocations are
published on the bus so every process drops the entry from its cache (and closes the sockets
opened with it: `on_revoked`).

No credential is issued to a deactivated account. Ending all of a user's sessions (staff, a
deactivation, a deleted account) also notes the time, on the bus and in the database, so the
stateless tokens issued until then (the directory door's JWT access tokens, which no row
backs) are refused as well: `sessions_ended(user_id, issued_at)`.

No process keeps honouring a revoked credential, Redis outage or not: a cache entry lives
`cache_ttl` seconds at most; nothing is cached while the bus is down, and the cache is cleared
when it is back (what was published meanwhile is lost); a revocation that could not be published
is published again until it is.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from meetsrv.bus import Bus, Subscription
from meetsrv.core.clock import Clock, DelayedCall
from meetsrv.core.errors import AccountInactive
from meetsrv.store.accounts.credentials import CredentialStore
from meetsrv.store.db import NowOrLater, Row

log = Logger()

# (user id, kind, expires): what a credential hash stands for
Entry = tuple[int, str, float | None]

CHANNEL = "credentials"
# bus items that say "every session of this user ended at this time": "user:<id>:<time>"
# (the other items are token hashes, hex digits only)
ENDED_PREFIX = "user:"
# how long an ending is remembered: longer than any stateless token lives (JWT access: 5 min)
ENDED_HORIZON = 3600.0
# hashes per revocation message (a deleted account may have many credentials)
PUBLISH_BATCH = 500


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    """40 hex characters, like DRF's authtoken keys."""
    return secrets.token_hex(20)


class CredentialService:
    # seconds between attempts to publish revocations the bus refused
    retry_interval = 2.0

    def __init__(self, store: CredentialStore, bus: Bus, clock: Clock, cache_size: int = 100_000,
                 cache_ttl: float = 30.0):
        self.store = store
        self.bus = bus
        self.clock = clock
        self.cache_size = cache_size
        self.cache_ttl = cache_ttl
        # token hash -> (user id, kind, expires, when cached)
        self._cache: OrderedDict[str, tuple[int, str, float | None, float]] = OrderedDict()
        self._subscription: Subscription | None = None
        self._revoked_listeners: list[Callable[[list[str]], object]] = []
        self._unpublished: list[str] = []  # revoked hashes the bus has not taken yet
        self._retry: DelayedCall | None = None
        self._ended: dict[int, float] = {}  # user id -> when all their sessions were ended
        self._ended_listeners: list[Callable[[int], object]] = []

    def on_sessions_ended(self, listener: Callable[[int], object]) -> None:
        """Call listener(user_id) in this process whenever all of a user's sessions end (here or
        in another process): the WebSocket hub closes the user's open sockets."""
        self._ended_listeners.append(listener)

    async def start(self) -> None:
        """Subscribe to revocations, then read the endings of the last hour (a process that
        starts now must refuse the stateless tokens they voided too)."""
        self._subscription = self.bus.subscribe(CHANNEL, self._on_revoked)
        self.bus.on_restored(self._bus_restored)
        await self._subscription.ready
        await self.load_ended()

    async def load_ended(self) -> None:
        """Read the endings of all of a user's sessions of the last hour again (at start, and
        when the bus may have lost some): the sockets of those users close."""
        for row in await self.store.recent_ends(self.clock.seconds() - ENDED_HORIZON):
            self._note_ended(row["id"], row["sessions_ended"])

    def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None

    def on_revoked(self, listener: Callable[[list[str]], object]) -> None:
        """Call listener(hashes) in this process for every revocation, made here or published
        by another process (the socket registry closes the sockets opened with them)."""
        self._revoked_listeners.append(listener)

    # -- cache -------------------------------------------------------------------------------
    def _remember(self, h: str, user_id: int, kind: str, expires: float | None) -> None:
        if not self.bus.connected:
            return  # revocations published now would not reach this process
        self._cache[h] = (user_id, kind, expires, self.clock.seconds())
        self._cache.move_to_end(h)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _cached(self, h: str) -> Entry | None:
        hit = self._cache.get(h)
        if hit is None:
            return None
        if not self.bus.connected or hit[3] + self.cache_ttl <= self.clock.seconds():
            del self._cache[h]
            return None
        return hit[:3]

    def _on_revoked(self, payload: str) -> None:
        hashes = []
        for item in payload.split(","):
            if item.startswith(ENDED_PREFIX):
                _, user_id, when = item.split(":")
                self._note_ended(int(user_id), float(when))
            elif item:
                hashes.append(item)
        self._drop(hashes)

    def _note_ended(self, user_id: int, when: float) -> None:
        if when > self._ended.get(user_id, float("-inf")):
            self._ended[user_id] = when
            for listener in self._ended_listeners:
                try:
                    listener(user_id)
                except Exception:  # one listener's trouble must not stop the revocation
                    log.failure("a sessions-ended listener failed for user {user}", user=user_id)
        if len(self._ended) > 1000:
            horizon = self.clock.seconds() - ENDED_HORIZON
            self._ended = {u: t for u, t in self._ended.items() if t > horizon}

    def sessions_ended(self, user_id: int, issued_at: object) -> bool:
        """True when a stateless token of this user issued at `issued_at` (epoch seconds, whole
        seconds in a JWT) was voided by ending all the user's sessions. A token issued in the same
        second as the ending counts as voided: refusing is the safe side."""
        ended = self._ended.get(user_id)
        return ended is not None and (not isinstance(issued_at, (int, float)) or issued_at <= ended)

    def _drop(self, hashes: list[str]) -> None:
        for h in hashes:
            self._cache.pop(h, None)
        for listener in self._revoked_listeners:
            try:
                listener(hashes)
            except Exception:
                log.failure("a revocation listener failed")

    def _bus_restored(self) -> None:
        """What was published while the bus was away is lost: nothing cached is trusted, the
        endings of sessions are read again, and the revocations waiting here go out now."""
        self._cache.clear()
        defer.ensureDeferred(self.load_ended()).addErrback(
            lambda f: log.warn("reading ended sessions failed: {error}", error=f.getErrorMessage()))
        self._publish_waiting()

    def _forget(self, hashes: Iterable[str]) -> defer.Deferred[None]:
        """Drop the hashes here and tell every process. Never fails: a revocation the bus
        refuses (Redis away) waits and is published again until it goes through."""
        hashes = [h for h in hashes if h]
        if not hashes:
            return defer.succeed(None)
        self._drop([h for h in hashes if not h.startswith(ENDED_PREFIX)])
        self._unpublished.extend(hashes)
        return self._publish_waiting()

    def _publish_waiting(self) -> defer.Deferred[None]:
        waiting, self._unpublished = self._unpublished, []
        if not waiting:
            return defer.succeed(None)
        batches = [waiting[i:i + PUBLISH_BATCH] for i in range(0, len(waiting), PUBLISH_BATCH)]

        def publish(batch: list[str]) -> defer.Deferred[None]:
            def failed(failure: Failure) -> None:
                self._unpublished.extend(batch)
                log.warn("revocation of {n} credential(s) not published ({error}); trying again",
                         n=len(batch), error=failure.getErrorMessage())
                self._retry_later()

            return defer.maybeDeferred(self.bus.publish, CHANNEL, ",".join(batch)).addErrback(failed)

        return defer.DeferredList([publish(b) for b in batches]).addCallback(lambda _: None)

    def _retry_later(self) -> None:
        if self._retry is None or not self._retry.active():
            self._retry = self.clock.callLater(self.retry_interval, self._publish_waiting)

    def unpublished(self) -> int:
        """Revocations waiting for the bus (tests, metrics)."""
        return len(self._unpublished)

    async def still_valid(self, hashes: Iterable[str]) -> set[str]:
        """Which of these credential hashes are still stored and unexpired (read from the
        database, not the cache: the check after an outage)."""
        rows = await self.store.lookup_many(list(hashes))
        now = self.clock.seconds()
        return {r["token_hash"] for r in rows if r["expires"] is None or r["expires"] > now}

    # -- API ---------------------------------------------------------------------------------
    async def issue(self, user_id: int, kind: str, ttl: float | None = None, single: bool = False,
                    token: str | None = None) -> str:
        """A new credential for user_id; with `single` it replaces the user's others of that kind.
        AccountInactive when the account is deactivated or gone."""
        token = token or new_token()
        now = self.clock.seconds()
        expires = None if ttl is None else now + ttl
        removed = await self.store.insert(token_hash(token), user_id, kind, now, expires, single)
        if removed is None:
            raise AccountInactive("User inactive or deleted.")
        await self._forget(removed)
        return token

    def authenticate(self, token: str | None, kinds: tuple[str, ...]) -> defer.Deferred[int | None]:
        """Deferred user id the token belongs to, if it is one of `kinds` and not expired; else None.

        A plain function, not async: it runs on every authenticated request, and a cache hit
        answers with a fired Deferred, without a coroutine or touching the database."""
        if not token or len(token) > 512:
            return defer.succeed(None)
        h = token_hash(token)
        hit = self._cached(h)
        if hit is not None:
            return defer.succeed(self._check(hit, kinds))

        def found(row: Row | None) -> int | None:
            if row is None:
                return None
            entry: Entry = (row["user_id"], row["kind"], row["expires"])
            self._remember(h, *entry)
            return self._check(entry, kinds)

        return self.store.lookup(h).addCallback(found)

    def user_of(self, token: str | None, kinds: tuple[str, ...]) -> NowOrLater[int | None]:
        """As `authenticate`, but a cache hit (or a token refused unread) answers the user id or
        None at once, with no Deferred: the doors' REST routes ask this on every request. A miss
        is a Deferred."""
        if not token or len(token) > 512:
            return None
        hit = self._cached(token_hash(token))
        if hit is not None:
            return self._check(hit, kinds)
        return self.authenticate(token, kinds)

    def _check(self, entry: Entry, kinds: tuple[str, ...]) -> int | None:
        user_id, kind, expires = entry
        if kind not in kinds:
            return None
        if expires is not None and expires <= self.clock.seconds():
            return None
        return user_id

    async def revoke_user(self, user_id: int, kind: str) -> None:
        removed = await self.store.delete_user_kind(user_id, kind)
        await self._forget(removed)

    async def revoke_all(self, user_id: int) -> None:
        """Every credential of the user, of every door, and every stateless token issued until
        now (staff ending the sessions, a deactivated or deleted account)."""
        now = self.clock.seconds()
        removed = await self.store.end_all(user_id, now)
        self._note_ended(user_id, now)
        await self._forget([*removed, f"{ENDED_PREFIX}{user_id}:{now!r}"])

    async def count_by_kind(self, user_id: int) -> list[Row]:
        """The user's credentials counted by kind, for staff: (kind, count, newest, expires); no token."""
        return await self.store.kinds_of(user_id)

    async def revoke(self, token: str) -> None:
        h = token_hash(token)
        await self.store.delete_token(h)
        await self._forget([h])

    async def consume(self, token: str, kind: str) -> int | None:
        """Spend a one-time credential (a refresh token): the user id, or None if spent/unknown."""
        h = token_hash(token)
        row = await self.store.consume(h)
        await self._forget([h])
        if row is None or row["kind"] != kind:
            return None
        if row["expires"] is not None and row["expires"] <= self.clock.seconds():
            return None
        user_id: int = row["user_id"]
        return user_id

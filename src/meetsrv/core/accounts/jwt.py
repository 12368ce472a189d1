"""JWT access and refresh tokens (HS256 only), with expiry read from the injected clock.

Refresh tokens are also kept (hashed) as credentials of kind "refresh": refreshing consumes
the one given, so a refresh token works once.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import jwt

from meetsrv.core.clock import Clock

if TYPE_CHECKING:
    from meetsrv.core.accounts.credentials import CredentialService

ALGORITHM = "HS256"
REFRESH_KIND = "refresh"
# what a token says: (token_type, user_id, exp, iat); for a token whose signature or claims
# were refused, _REFUSED (kept too, so a repeated bad token costs no HMAC)
Claims = tuple[Any, int | None, float, Any]
_REFUSED: Claims = (None, None, 0.0, None)


class JwtTokens:
    # simplejwt's defaults
    access_ttl = 5 * 60.0
    refresh_ttl = 24 * 3600.0

    def __init__(self, secret: str, clock: Clock, credentials: CredentialService, cache_size: int = 10_000):
        self.secret = secret
        self.clock = clock
        self.credentials = credentials
        # token -> what it says, once its signature is verified (or _REFUSED): that never
        # changes, so a token is verified once; expiry and the endings of sessions are checked
        # on every use (`decode`). The least recently used go first.
        self.cache_size = cache_size
        self._verified: OrderedDict[str, Claims] = OrderedDict()

    def _encode(self, user_id: int, kind: str, ttl: float) -> str:
        now = int(self.clock.seconds())
        claims = {"token_type": kind, "user_id": user_id, "iat": now, "exp": now + int(ttl),
                  "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def decode(self, token: str | None, kind: str) -> int | None:
        """The user id of a valid, unexpired token of `kind`; else None. The signature of a
        token is verified once (kept in a bounded cache); its expiry is read each time."""
        if not token or len(token) > 2048:
            return None
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            self._verified[token] = claims
            if len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        else:
            self._verified.move_to_end(token)
        token_type, user_id, exp, iat = claims
        if token_type != kind or user_id is None:
            return None
        if exp <= self.clock.seconds():
            self._verified.pop(token, None)  # never valid again
            return None
        # staff ended the user's sessions (or deactivated the account) after this token was made
        if self.credentials.sessions_ended(user_id, iat):
            return None
        return user_id

    def _verify(self, token: str) -> Claims:
        """What a token signed with our secret says, when its claims have the right types;
        else _REFUSED."""
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM],
                # exp is checked by `decode` against the injected clock, not the wall clock
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                         "require": ["exp", "user_id", "token_type"]},
            )
        except jwt.InvalidTokenError:
            return _REFUSED
        user_id, exp = claims.get("user_id"), claims.get("exp")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(exp, (int, float)):
            return _REFUSED
        return claims.get("token_type"), user_id, exp, claims.get("iat")

    async def pair(self, user_id: int) -> dict[str, str]:
        access = self._encode(user_id, "access", self.access_ttl)
        refresh = self._encode(user_id, REFRESH_KIND, self.refresh_ttl)
        await self.credentials.issue(user_id, REFRESH_KIND, ttl=self.refresh_ttl, token=refresh)
        return {"access": access, "refresh": refresh}

    async def rotate(self, refresh: str) -> dict[str, str] | None:
        """A new pair for a valid refresh token, which is spent; None if invalid or spent."""
        user_id = self.decode(refresh, REFRESH_KIND)
        if user_id is None:
            return None
        spent_by = await self.credentials.consume(refresh, REFRESH_KIND)
        if spent_by != user_id:
            return None
        return await self.pair(user_id)

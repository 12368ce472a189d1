"""JWT access and refresh tokens (HS256 only), with expiry read from the injected clock.

Refresh tokens are also kept (hashed) as credentials of kind "refresh": refreshing consumes
the one given, so a refresh token works once.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import jwt

from meetsrv.core.clock import Clock

if TYPE_CHECKING:
    from meetsrv.core.accounts.credentials import CredentialService

ALGORITHM = "HS256"
REFRESH_KIND = "refresh"


class JwtTokens:
    # simplejwt's defaults
    access_ttl = 5 * 60.0
    refresh_ttl = 24 * 3600.0

    def __init__(self, secret: str, clock: Clock, credentials: CredentialService):
        self.secret = secret
        self.clock = clock
        self.credentials = credentials

    def _encode(self, user_id: int, kind: str, ttl: float) -> str:
        now = int(self.clock.seconds())
        claims = {"token_type": kind, "user_id": user_id, "iat": now, "exp": now + int(ttl),
                  "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def decode(self, token: str | None, kind: str) -> int | None:
        """The user id of a valid, unexpired token of `kind`; else None."""
        if not token or len(token) > 2048:
            return None
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM],
                # exp is checked below against the injected clock, not the wall clock
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                         "require": ["exp", "user_id", "token_type"]},
            )
        except jwt.InvalidTokenError:
            return None
        user_id, exp = claims.get("user_id"), claims.get("exp")
        if claims.get("token_type") != kind or not isinstance(user_id, int) or isinstance(user_id, bool):
            return None
        if not isinstance(exp, (int, float)) or exp <= self.clock.seconds():
            return None
        # staff ended the user's sessions (or deactivated the account) after this token was made
        if self.credentials.sessions_ended(user_id, claims.get("iat")):
            return None
        return user_id

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

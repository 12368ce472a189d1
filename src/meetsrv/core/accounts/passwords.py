"""Slow salted password hashing (scrypt), always on a thread so the reactor never waits on it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool

_R, _P = 8, 1


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def hash_password(password: str, cost: int) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=cost, r=_R, p=_P, maxmem=256 * 1024 * 1024, dklen=32)
    return f"scrypt${cost}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            maxmem=256 * 1024 * 1024, dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


class PasswordHasher:
    def __init__(self, reactor: Any, cost: int = 2**14):
        self.reactor = reactor
        self.cost = cost
        # verifying against this when a user is unknown keeps both answers equally slow
        self._dummy = hash_password(secrets.token_hex(8), cost)

    def hash(self, password: str) -> Deferred[str]:
        return deferToThreadPool(self.reactor, self.reactor.getThreadPool(), hash_password, password, self.cost)

    def verify(self, password: str, stored: str | None) -> Deferred[bool]:
        return deferToThreadPool(
            self.reactor, self.reactor.getThreadPool(), verify_password, password, stored or self._dummy
        ).addCallback(lambda ok: bool(ok and stored is not None))

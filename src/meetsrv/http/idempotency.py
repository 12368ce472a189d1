"""`@idempotent`: the door toolkit's Idempotency-Key for create routes.

A client that did not get the answer of a create (a timeout, a dropped connection) sends it
again with the same `Idempotency-Key` header: the same user gets the first answer again (its
status, content type, location and body; `Idempotent-Replayed: true`) and nothing is created
twice. The same key with a different request answers 422, and while the first is still being
answered 409, in the door's style (`Door.problem`). Without the header a route is unchanged;
an anonymous request is not remembered (there is no user to keep the key for).

Put it under the route: `@app.route(...)` then `@idempotent`. The door's `caller(request)`
names the user (and refuses a bad credential as the route would).
"""

from __future__ import annotations

import functools
import hashlib
import inspect

from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from meetsrv.http.credentials import header

log = Logger()

HEADER = "idempotency-key"
MAX_KEY = 255
# the answer's headers that say what it is; anything else is computed again
KEPT_HEADERS = (b"content-type", b"location")
# bodies larger than this are hashed on a thread
_HASH_ON_THREAD = 1024 * 1024


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY and all(33 <= ord(c) <= 126 for c in key)


def _fingerprint(method: bytes, target: bytes, body: bytes) -> str:
    digest = hashlib.sha256(method + b" " + target + b"\n")
    digest.update(body)
    return digest.hexdigest()


async def _request_fingerprint(request, reactor) -> str:
    content = request.content
    position = content.tell()
    content.seek(0)
    body = content.read()
    content.seek(position)
    if len(body) > _HASH_ON_THREAD:
        return await deferToThreadPool(reactor, reactor.getThreadPool(), _fingerprint, request.method, request.uri, body)
    return _fingerprint(request.method, request.uri, body)


async def _release(services, claim) -> None:
    """The request failed and created nothing: its key may be sent again. (If even this fails,
    the database is away; the claim is taken over once stale.)"""
    try:
        await services.idempotency.release(claim)
    except Exception as e:
        log.warn("releasing an idempotency key failed: {error}", error=e)


async def _answered(route, *args, **kwargs):
    """The route's answer: it may give it at once (http/at_once.py) or as a Deferred or coroutine."""
    answer = route(*args, **kwargs)
    if inspect.isawaitable(answer):
        answer = await answer
    return answer


def idempotent(route):
    @functools.wraps(route)
    async def answer(door, request, *args, **kwargs):
        key = header(request, HEADER)
        if key is None:
            return await _answered(route, door, request, *args, **kwargs)
        if not _valid_key(key):
            return door.problem(request, 400, "invalid_idempotency_key",
                                f"Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters.")
        user_id = await door.caller(request)
        if user_id is None:
            return await _answered(route, door, request, *args, **kwargs)
        services = door.services
        fingerprint = await _request_fingerprint(request, services.reactor)
        what = f"{request.method.decode('ascii', 'replace')} {request.path.decode('utf-8', 'replace')}"
        claim = await services.idempotency.claim(user_id, key, what, fingerprint)
        if claim.state == "done":
            request.setResponseCode(claim.status)
            for name, value in claim.headers:
                request.setHeader(name.encode("latin-1"), value.encode("latin-1"))
            request.setHeader(b"idempotent-replayed", b"true")
            return claim.body
        if claim.state == "mismatch":
            return door.problem(request, 422, "idempotency_key_reused",
                                "This Idempotency-Key was used with another request.")
        if claim.state == "busy":
            return door.problem(request, 409, "idempotency_key_in_use",
                                "A request with this Idempotency-Key is still being answered.")
        try:
            body = await _answered(route, door, request, *args, **kwargs)
        except BaseException:
            await _release(services, claim)
            raise
        if not isinstance(body, bytes) or request.code >= 500:
            await _release(services, claim)
            return body
        kept = []
        for name in KEPT_HEADERS:
            value = request.responseHeaders.getRawHeaders(name)
            if value:
                kept.append((name.decode("latin-1"), value[-1].decode("latin-1")))
        await services.idempotency.finish(claim, request.code, kept, body)
        return body

    return answer

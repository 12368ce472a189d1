"""The open sockets of this process by the credential they were opened with.

A credential revoked anywhere (logout, a revoked token, a deleted account) closes its sockets
with 4001 on every process: the revocation reaches each process on the bus (core/accounts/
credentials.py, `on_revoked`). While Redis is away a process cannot hear revocations, so the
credentials of its sockets are checked against the database every `check_interval` seconds
during the outage and once when the bus is back.

A credential holds at most `per_credential` sockets (a handshake past that is refused, 429).

A door whose credential is a signed token no row backs (the directory's JWTs) opens sockets
that only count towards the cap: nothing in the database says such a token is revoked.
"""

from __future__ import annotations

from twisted.internet import defer, task
from twisted.logger import Logger

log = Logger()


class CredentialSockets:
    def __init__(self, credentials, bus, clock, per_credential: int = 20, check_interval: float = 30.0):
        self.credentials = credentials
        self.bus = bus
        self.clock = clock
        self.per_credential = per_credential
        self.check_interval = check_interval
        self._sockets: dict[str, dict[str, object]] = {}  # hash -> conn id -> socket
        self._watch = None
        self._checking = None
        credentials.on_revoked(self.close)
        bus.on_restored(self.check)

    def start(self) -> None:
        if self.check_interval and not getattr(self.bus, "is_local", False):
            self._watch = task.LoopingCall(self._check_while_bus_down)
            self._watch.clock = self.clock
            self._watch.start(self.check_interval, now=False).addErrback(
                lambda f: log.failure("socket credential check stopped", f))

    def stop(self) -> None:
        if self._watch is not None and self._watch.running:
            self._watch.stop()
        self._watch = None

    # -- sockets -----------------------------------------------------------------------------
    def admit(self, sock) -> bool:
        """Count sock under its credential; False (not counted) when the credential already
        holds `per_credential` open sockets."""
        held = self._sockets.setdefault(sock.credential_hash, {})
        if len(held) >= self.per_credential and sock.conn_id not in held:
            if not held:
                del self._sockets[sock.credential_hash]
            return False
        held[sock.conn_id] = sock
        return True

    def remove(self, sock) -> None:
        held = self._sockets.get(sock.credential_hash)
        if held is not None:
            held.pop(sock.conn_id, None)
            if not held:
                del self._sockets[sock.credential_hash]

    def count(self, credential_hash: str) -> int:
        return len(self._sockets.get(credential_hash, ()))

    def close(self, hashes) -> None:
        """These credentials were revoked: their sockets close with 4001."""
        for h in hashes:
            for sock in list(self._sockets.pop(h, {}).values()):
                sock.credential_revoked()

    # -- checking after an outage --------------------------------------------------------------
    def _check_while_bus_down(self):
        if not self.bus.connected:
            # ended sessions (staff, deleted accounts) close sockets of signed tokens too
            defer.ensureDeferred(self.credentials.load_ended()).addErrback(lambda f: log.warn(
                "reading ended sessions failed: {error}", error=f.getErrorMessage()))
            return self.check()
        return None

    def check(self) -> defer.Deferred:
        """Close the sockets whose credential is no longer stored (or has expired)."""
        if self._checking is not None:
            return self._checking
        hashes = [h for h, held in self._sockets.items()
                  if any(s.credential_revocable for s in held.values())]
        if not hashes:
            return defer.succeed(None)

        def checked(valid):
            self.close([h for h in hashes if h not in valid])

        def failed(failure):
            log.warn("checking the credentials of open sockets failed: {error}", error=failure.getErrorMessage())

        def done(result):
            self._checking = None
            return result

        d = defer.ensureDeferred(self.credentials.still_valid(hashes))
        d.addCallbacks(checked, failed).addBoth(done)
        if not d.called:
            self._checking = d
        return d

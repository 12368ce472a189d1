"""Readiness: whether this process can serve requests now (`GET /healthz/ready`).

`/healthz` stays a liveness check (the process answers). Readiness asks the parts a request
needs, each with a short deadline, so a load balancer stops sending traffic to a process whose
database or Redis is away (and a hung backend cannot hang the check): a `SELECT 1` through the
pool, and a Redis PING with both bus connections up.
"""

from __future__ import annotations

from twisted.internet import defer

READY_TIMEOUT = 2.0


def _select_one(t) -> None:
    t.cursor.execute("SELECT 1")
    t.cursor.fetchall()


class Readiness:
    def __init__(self, db, bus, reactor, timeout: float = READY_TIMEOUT):
        self.db = db
        self.bus = bus
        self.reactor = reactor
        self.timeout = timeout

    async def failing(self) -> list[str]:
        """The names of the parts that did not answer in time: "database", "redis"."""
        checks = {"database": self.db.interact("health.ready", _select_one)}
        if not getattr(self.bus, "is_local", False):
            checks["redis"] = self.bus.ping()
        for d in checks.values():
            d.addTimeout(self.timeout, self.reactor)
        results = await defer.DeferredList(list(checks.values()), consumeErrors=True)
        return [name for name, (ok, _) in zip(checks, results) if not ok]

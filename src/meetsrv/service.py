"""Building and running the server: database, bus, services and site, started and stopped cleanly.

`MeetServer` is what tests start on port 0; `MeetService` is the twistd service around it.
"""

from __future__ import annotations

import os
import socket
import sys

from twisted.application import service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger

from meetsrv.config import ConfigError, Settings, redis_address
from meetsrv.http.site import MeetSite
from meetsrv.store.db import Database, DatabaseUnavailable

log = Logger()


def with_backlog(port: str, backlog: int = 1024) -> str:
    """Twisted's default listen backlog (50) drops connection bursts."""
    kind = port.split(":", 1)[0]
    if (kind in ("tcp", "tcp6") or kind.isdigit()) and "backlog=" not in port:
        return f"{port}:backlog={backlog}"
    return port


def check_redis(url: str) -> None:
    host, port, _ = redis_address(url)
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as e:
        raise ConfigError(f"--redis: cannot connect to {host}:{port}: {e.strerror or e}")


def check_reachable(settings: Settings) -> None:
    """Fail at start with one clear line when the database or Redis cannot be reached."""
    try:
        Database(settings.db, reactor=_NoReactor()).check_reachable()
    except DatabaseUnavailable as e:
        raise ConfigError(str(e))
    if settings.redis:
        check_redis(settings.redis)


def worker_metrics_port(settings: Settings) -> str:
    """--metrics-port for this process: with --workers, worker i takes the given TCP port + i - 1
    (every worker counts its own requests, so each is scraped on a port of its own)."""
    description = settings.metrics_port
    if not settings.worker_index:
        return description
    parts = description.split(":")
    if parts[0].isdigit():
        parts = ["tcp", *parts]
    if parts[0] not in ("tcp", "tcp6") or len(parts) < 2 or not parts[1].isdigit() or parts[1] == "0":
        return description
    parts[1] = str(int(parts[1]) + settings.worker_index - 1)
    return ":".join(parts)


def _address(port) -> str:
    host = port.getHost()
    if hasattr(host, "port"):
        return f"{host.host}:{host.port}" if ":" not in host.host else f"[{host.host}]:{host.port}"
    return str(getattr(host, "name", host))  # a UNIX socket


class _NoReactor:
    """A pool that is never started: only used to run the synchronous reachability check."""

    def callWhenRunning(self, *a, **kw):
        return None

    def addSystemEventTrigger(self, *a, **kw):
        return None


class MeetServer:
    def __init__(self, settings: Settings, reactor=None, clock=None):
        if reactor is None:
            from twisted.internet import reactor
        self.settings = settings.with_secret()
        self.reactor = reactor
        self.clock = clock or reactor
        self.port = None
        self.metrics_port = None
        self.services = None
        self.db = None
        self.bus = None
        if settings.metrics:
            from meetsrv.metrics import Metrics

            self.metrics = Metrics()
        else:
            self.metrics = None

    @defer.inlineCallbacks
    def start(self):
        from meetsrv.services import PublicUrl, Services
        from meetsrv.web import build_root

        settings = self.settings
        os.makedirs(settings.media, mode=0o700, exist_ok=True)
        self.db = Database(settings.db, self.reactor)
        yield self.db.create_schema()
        if settings.redis:
            from meetsrv.bus.redis import RedisBus, RedisEphemeral

            host, port, dbid = redis_address(settings.redis)
            self.bus = RedisBus(host, port, dbid, settings.redis_prefix)
            yield self.bus.start()
            ephemeral = RedisEphemeral(self.bus, self.clock)
        else:
            from meetsrv.bus.local import LocalBus, LocalEphemeral

            self.bus = LocalBus()
            ephemeral = LocalEphemeral(self.clock)
        if self.metrics is not None:
            self.db.add_observer(self.metrics.observe_transaction)
            self.bus.publish_observer = self.metrics.observe_publish
        public_url = PublicUrl(settings.base_url())
        self.services = Services(settings, self.db, self.bus, ephemeral, self.reactor, self.clock, public_url,
                                 self.metrics)
        root = build_root(self.services)
        self.site = MeetSite(root, settings.max_body, settings.access_log,
                             max_multipart_parts=settings.max_multipart_parts,
                             max_form_fields=settings.max_form_fields, metrics=self.metrics)
        if self.metrics is not None:
            self.metrics.watch(hub=self.services.hub, bus=self.bus, delayed_events=self.services.event_jobs)
            if settings.metrics_port:
                from meetsrv.metrics import MetricsRoot

                metrics_site = MeetSite(MetricsRoot(self.metrics), max_body=0)
                endpoint = serverFromString(self.reactor, worker_metrics_port(settings))
                self.metrics_port = yield endpoint.listen(metrics_site)
        if settings.worker_index:
            from meetsrv.workers import listen_reuse_port

            self.port = listen_reuse_port(self.reactor, settings.port, self.site)
        else:
            endpoint = serverFromString(self.reactor, with_backlog(settings.port))
            self.port = yield endpoint.listen(self.site)
        if not settings.public_url:
            public_url.value = settings.base_url(self.port.getHost().port)
        yield self.services.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port.getHost().port}"

    def describe(self) -> dict:
        """What the start-up log line says: addresses, database and bus (never a password)."""
        return {
            "address": _address(self.port),
            "metrics": ("off" if self.metrics is None else
                        _address(self.metrics_port) + "/metrics" if self.metrics_port else "/metrics"),
            "database": self.db.describe(),
            "bus": self.bus.describe(),
        }

    @defer.inlineCallbacks
    def stop(self):
        if self.metrics_port is not None:
            yield self.metrics_port.stopListening()
            self.metrics_port = None
        if self.port is not None:
            yield self.port.stopListening()
            self.port = None
        if self.services is not None and self.services.hub is not None:
            yield self.services.hub.close_all(self.reactor)
        if self.services is not None:
            yield defer.maybeDeferred(self.services.stop)
        if self.bus is not None:
            yield self.bus.stop()
        if self.db is not None:
            self.db.close()


class MeetService(service.Service):
    """The service twistd runs."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.server = None

    def startService(self):
        super().startService()
        from twisted.internet import reactor

        self.server = MeetServer(self.settings, reactor)
        d = self.server.start()

        def started(server):
            log.info("meetsrv listening on {address}, public URL {url}; database {database}; bus {bus}; "
                     "metrics {metrics}", url=server.services.public_url.value, **server.describe())
            if self.settings.worker_index:
                from meetsrv.workers import tell_supervisor_ready, watch_supervisor

                tell_supervisor_ready()
                self.supervisor_watch = watch_supervisor(reactor)

        def failed(failure):
            print(f"meetsrv: cannot start: {failure.getErrorMessage()}", file=sys.stderr)
            log.failure("meetsrv failed to start", failure)
            reactor.stop()

        d.addCallbacks(started, failed)

    def stopService(self):
        super().stopService()
        if self.server is not None:
            return self.server.stop()

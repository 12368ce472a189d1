"""Building and running the server: database, bus, services and site, started and stopped cleanly.

`MeetServer` is what tests start on port 0; `MeetService` is the twistd service around it.
"""

from __future__ import annotations

import gc
import os
import secrets
import socket
import sys
import time
from dataclasses import replace

from twisted.application import service
from twisted.internet import defer, threads
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.web.resource import Resource

from meetsrv.config import ConfigError, Settings, redis_address
from meetsrv.http.site import MeetSite
from meetsrv.store.db import Database, DatabaseUnavailable, check_reachable

log = Logger()


def with_backlog(port: str, backlog: int = 1024) -> str:
    """Twisted's default listen backlog (50) drops connection bursts."""
    kind = port.split(":", 1)[0]
    if (kind in ("tcp", "tcp6") or kind.isdigit()) and "backlog=" not in port:
        return f"{port}:backlog={backlog}"
    return port


def raise_file_limit() -> tuple[int, int]:
    """Raise this process's open file limit (RLIMIT_NOFILE, soft) to its hard limit: each
    connection is a file, and the usual soft limit (1024) is reached by about a thousand idle
    clients. Returns (before, after)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if target == resource.RLIM_INFINITY:
        # Linux refuses an unlimited soft limit for files: the kernel's ceiling is the most
        try:
            with open("/proc/sys/fs/nr_open") as f:
                target = int(f.read().strip())
        except (OSError, ValueError):
            target = soft
    if target != resource.RLIM_INFINITY and (soft == resource.RLIM_INFINITY or soft >= target):
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError):
        return soft, soft
    return soft, target


def check_redis(url: str) -> None:
    host, port, _ = redis_address(url)
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as e:
        raise ConfigError(f"--redis: cannot connect to {host}:{port}: {e.strerror or e}")


def wait_for_database(url: str, grace: float, sleep=time.sleep, now=time.monotonic) -> None:
    """Blocking: retry reaching the database for `grace` seconds (it may be starting as well),
    then give up with one line."""
    deadline = now() + grace
    while True:
        try:
            check_reachable(url)
            return
        except DatabaseUnavailable as e:
            left = deadline - now()
            if left <= 0:
                waited = f" (retried for {grace:g} s, --db-wait)" if grace > 0 else ""
                raise ConfigError(f"{e}{waited}")
            sleep(min(1.0, left))


def prepare_database(settings: Settings) -> None:
    """Blocking: wait for the database, then bring its schema to head (or, with --no-migrate,
    refuse a schema that is behind); check Redis. Every refusal is one ConfigError line."""
    from sqlalchemy.exc import SQLAlchemyError

    from meetsrv.store import migrations

    wait_for_database(settings.db, settings.db_wait)
    try:
        if settings.no_migrate:
            state = migrations.state(settings.db)
            if state.behind:
                raise ConfigError(f"--no-migrate: the database is {state.describe()}; "
                                  "run `meetsrv-admin migrate` first")
        else:
            migrations.upgrade(settings.db)
    except migrations.MigrationError as e:
        raise ConfigError(f"--db: {e}")
    except SQLAlchemyError as e:
        first = str(getattr(e, "orig", None) or e).strip().splitlines()
        raise ConfigError(f"--db: migrating the schema failed: {first[0] if first else type(e).__name__}")
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


class _Starting(Resource):
    """The root until start() is done (the port is taken before the database is ready): every
    request is answered 503 with Retry-After, so a health check reads "not yet"."""

    isLeaf = True

    def render(self, request):
        request.setResponseCode(503)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"retry-after", b"1")
        return b'{"detail": "The server is starting."}'


DEBUG_WARNING = (
    "*** --debug is ON: SMS code 00000 signs anyone in to the phone door, SMS texts are written "
    "to the log and social logins are not verified. Never run a server that people use with "
    "--debug. ***"
)


class MeetServer:
    """Start order: listen on the port (a busy port fails before anything is created), reach
    and migrate the database, then the secret, the media folder, the bus and the services."""

    def __init__(self, settings: Settings, reactor=None, clock=None):
        if reactor is None:
            from twisted.internet import reactor
        self.settings = settings
        self.reactor = reactor
        self.clock = clock or reactor
        self.site = None
        self.port = None
        self._listening = None
        self.prepared = False
        self.metrics_port = None
        self.services = None
        self.db = None
        self.bus = None
        if settings.metrics:
            from meetsrv.metrics import Metrics

            self.metrics = Metrics()
        else:
            self.metrics = None

    def listen(self) -> defer.Deferred:
        """Take the port (at once for TCP and UNIX ports: twistd calls this before its reactor
        runs). Until start() is done every request is answered 503."""
        if self._listening is None:
            settings = self.settings
            self.site = MeetSite(_Starting(), settings.max_body, settings.access_log,
                                 max_multipart_parts=settings.max_multipart_parts,
                                 max_form_fields=settings.max_form_fields, metrics=self.metrics,
                                 clock=self.clock, header_timeout=settings.header_timeout,
                                 body_timeout=settings.body_timeout)
            if settings.worker_index:
                # one of --workers: beside the others on the supervisor's port (SO_REUSEPORT)
                from meetsrv.workers import listen_reuse_port

                self._listening = defer.maybeDeferred(listen_reuse_port, self.reactor, settings.port, self.site)
            else:
                try:
                    endpoint = serverFromString(self.reactor, with_backlog(settings.port))
                except (ValueError, KeyError, TypeError) as e:
                    self._listening = defer.fail(
                        ConfigError(f"--port: {settings.port!r} is not a port description ({e})"))
                else:
                    self._listening = endpoint.listen(self.site)

            def listening(port):
                self.port = port

            def refused(failure):
                failure.trap(CannotListenError, OSError)
                reason = getattr(failure.value, "socketError", failure.value)
                reason = getattr(reason, "strerror", None) or reason
                raise ConfigError(f"--port: cannot listen on {settings.port}: {reason}")

            self._listening.addCallbacks(listening, refused)
        return self._listening

    def prepare(self) -> None:
        """Blocking: see prepare_database. twistd runs it before its reactor, tests in a thread."""
        prepare_database(self.settings)
        self.prepared = True

    def start(self) -> defer.Deferred:
        return defer.ensureDeferred(self._start_or_clean_up())

    async def _start_or_clean_up(self):
        try:
            await self._start()
        except BaseException:
            # leave nothing behind (the port, the pool): the caller may try again
            await self.stop()
            raise
        return self

    async def _start(self):
        from meetsrv.services import PublicUrl, Services
        from meetsrv.web import build_root

        await self.listen()
        if not self.prepared:
            await threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self.prepare)
        if self.settings.debug:
            log.warn(DEBUG_WARNING)
        self.db = Database(self.settings.db, self.reactor)
        await self.db.load_search_indexes()
        self.settings = settings = await self._with_secret()
        os.makedirs(settings.media, mode=0o700, exist_ok=True)
        if settings.redis:
            from meetsrv.bus.redis import RedisBus, RedisEphemeral

            host, port, dbid = redis_address(settings.redis)
            self.bus = RedisBus(host, port, dbid, settings.redis_prefix, timeout=settings.redis_timeout)
            await self.bus.start()
            ephemeral = RedisEphemeral(self.bus, self.clock)
        else:
            from meetsrv.bus.local import LocalBus, LocalEphemeral

            self.bus = LocalBus()
            ephemeral = LocalEphemeral(self.clock)
        if self.metrics is not None:
            self.db.add_observer(self.metrics.observe_transaction)
            self.bus.publish_observer = self.metrics.observe_publish
        public_url = PublicUrl(settings.base_url(getattr(self.port.getHost(), "port", None)))
        self.services = Services(settings, self.db, self.bus, ephemeral, self.reactor, self.clock, public_url,
                                 self.metrics)
        if self.metrics is not None:
            self.metrics.watch(hub=self.services.hub, bus=self.bus, delayed_events=self.services.event_jobs)
            if settings.metrics_port:
                from meetsrv.metrics import MetricsRoot

                metrics_site = MeetSite(MetricsRoot(self.metrics), max_body=0)
                endpoint = serverFromString(self.reactor, worker_metrics_port(settings))
                self.metrics_port = await endpoint.listen(metrics_site)
        self.site.resource = build_root(self.services)
        await self.services.start()

    async def _with_secret(self) -> Settings:
        """--secret if given. Processes joined by Redis share one kept in the database (the first
        to start stores it, taking over a secret kept in the data folder, so tokens survive);
        a single process keeps it in a file in its data folder."""
        settings = self.settings
        if settings.secret:
            return settings
        if settings.redis:
            from meetsrv.store.server_secrets import ServerSecretStore

            candidate = settings.kept_secret() or secrets.token_hex(32)
            secret = await ServerSecretStore(self.db).shared("signing", candidate, self.reactor.seconds())
            return replace(settings, secret=secret)
        return settings.with_secret()

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

    def stop(self) -> defer.Deferred:
        """Stop accepting; let the requests in flight finish (up to --drain-timeout seconds);
        close the sockets (1001, going away), once what they received is handled; then stop the
        services, the bus and the database."""
        return defer.ensureDeferred(self._stop())

    async def _stop(self):
        if self.metrics_port is not None:
            await defer.maybeDeferred(self.metrics_port.stopListening)
            self.metrics_port = None
        if self.port is not None:
            await defer.maybeDeferred(self.port.stopListening)
            self.port = None
        if self.services is not None:
            self.services.hub.accepting = False
        if self.site is not None:
            log.info("stopping: not accepting; {n} request(s) in flight may finish within {t} s",
                     n=len(self.site.busy()), t=self.settings.drain_timeout)
            # real seconds: connections are the reactor's, whatever clock the rules run on
            await self.site.drain(self.settings.drain_timeout, self.reactor)
        if self.services is not None and self.services.hub is not None:
            await self.services.hub.close_all(self.reactor)
        if self.services is not None:
            await defer.maybeDeferred(self.services.stop)
        if self.bus is not None:
            await self.bus.stop()
        if self.db is not None:
            self.db.close()


def _exit(status: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


class MeetService(service.Service):
    """The service twistd runs, around a server that already listens and has its database
    ready (the plugin did both before the reactor started, so they fail in one line)."""

    def __init__(self, server: MeetServer):
        self.server = server

    def startService(self):
        super().startService()
        reactor = self.server.reactor

        before, after = raise_file_limit()
        if after != before:
            log.info("open file limit raised from {before} to {after}", before=before, after=after)
        else:
            log.info("open file limit: {limit}", limit=after)
        d = self.server.start()

        def started(server):
            log.info("meetsrv listening on {address}, public URL {url}; database {database}; bus {bus}; "
                     "metrics {metrics}", url=server.services.public_url.value, **server.describe())
            # what start-up built (modules, routes, compiled statements) lives as long as the
            # process: frozen, the collector's passes over the older generations stop walking it
            # (as Synapse does). About 60 k fewer instructions per REST request.
            gc.collect()
            gc.freeze()
            if server.settings.worker_index:
                from meetsrv.workers import tell_supervisor_ready, watch_supervisor

                tell_supervisor_ready()
                self.supervisor_watch = watch_supervisor(reactor)

        def failed(failure):
            print(f"meetsrv: cannot start: {failure.getErrorMessage()}", file=sys.stderr)
            if failure.check(ConfigError):
                log.error("meetsrv failed to start: {reason}", reason=failure.getErrorMessage())
            else:
                log.failure("meetsrv failed to start", failure)
            # twistd has no exit status of its own: leave with 1 once the shutdown is done
            reactor.addSystemEventTrigger("after", "shutdown", _exit, 1)
            reactor.stop()

        d.addCallbacks(started, failed)

    def stopService(self):
        super().stopService()
        if self.server is not None:
            return self.server.stop()

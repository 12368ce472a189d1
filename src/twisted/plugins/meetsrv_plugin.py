"""twistd plugin: `twistd -n meetsrv [options]`.

Nothing heavy is imported at module level: twistd imports every plugin module to list them, and
the reactor must not be installed as a side effect.
"""

from twisted.application.service import IServiceMaker
from twisted.plugin import IPlugin
from twisted.python import usage
from zope.interface import implementer


class Options(usage.Options):
    optFlags = [
        ["debug", None, "Debug mode: SMS code 00000 is accepted and SMS texts go to the log."],
        ["access-log", None, "Log a line per request and per WebSocket opened/closed (off by default: it is slow)."],
        ["social-trust-client", None, "Log social clients in without verifying their token (warned at start)."],
        ["no-migrate", None, "Refuse to start on a database whose schema is behind (default: upgrade it)."],
        ["no-metrics", None, "No Prometheus metrics (nothing measured, no /metrics)."],
    ]
    optParameters = [
        ["port", None, None, "strports description to listen on (default tcp:8080)."],
        ["db", None, None, "sqlite:///path (default sqlite:///meetsrv.sqlite3) or postgresql://user:pass@host/db."],
        ["db-wait", None, None, "Seconds to keep retrying a database that cannot be reached at start (default 30)."],
        ["redis", None, None, "redis://host:port/n to join several processes (unset: in-process bus)."],
        ["media", None, None, "Folder for uploaded media (default ./media)."],
        ["public-url", None, None, "Base for absolute URLs (default http://localhost:<port>)."],
        ["secret", None, None, "Signing key (unset: generated and kept in the data folder, or in the database with --redis)."],
        ["event-delay", None, None, "Seconds before a new directory event is saved (default 60)."],
        ["max-body", None, None, "Largest request body in bytes (default 10 MB)."],
        ["allowed-origins", None, None, "Comma-separated WebSocket Origin allowlist (scheme://host:port)."],
        ["redis-prefix", None, None, "Prefix of Redis keys and channels (default meetsrv:)."],
        ["max-image-pixels", None, None, "Largest image accepted, in pixels (default 16000000)."],
        ["max-multipart-parts", None, None, "Most parts of a multipart body (default 100)."],
        ["max-form-fields", None, None, "Most fields of a url-encoded form (default 1000)."],
        ["sms-gateway-url", None, None, "HTTP SMS gateway to post codes to (unset: written to the log)."],
        ["sms-per-client", None, None, "SMS codes per minute to one client address (default 5; 0: no limit)."],
        ["sms-per-minute", None, None, "SMS codes per minute in total (default 60; 0: no limit)."],
        ["social-verifier-url", None, None, "Social token verifier for every provider (unset: vk's built-in, others refused)."],
        ["social-vk-url", None, None, "VK users.get URL of the built-in vk verifier (default VK's)."],
        ["workers", None, None, "Processes sharing the port: a number or 'auto' (cores); default 1. Needs --redis."],
        ["worker-index", None, None, "(internal) set by the supervisor of --workers for each worker."],
        ["metrics-port", None, None, "strports description to serve /metrics on instead of the main port (e.g. tcp:9100); "
                                     "with --workers, worker i uses port + i - 1."],
        ["log-format", None, None, "text (default) or json: one JSON object per line."],
        ["redis-timeout", None, None, "Seconds a Redis command may take before what needs it answers 503 (default 1.5)."],
        ["credential-cache-ttl", None, None, "Seconds a credential is cached in a process (default 30)."],
        ["ws-max-buffer", None, None, "Bytes unsent to a WebSocket client before it is closed with 1008 (default 1 MiB)."],
        ["ws-per-credential", None, None, "Most WebSockets open with one credential (default 20; more: 429)."],
        ["header-timeout", None, None, "Seconds a request has to send its headers (default 10; then 408)."],
        ["body-timeout", None, None, "Seconds a request has to send its body after the headers (default 60; then 408)."],
        ["drain-timeout", None, None, "Seconds a stopping server lets requests in flight finish (default 10)."],
    ]
    longdesc = "Each option can also be given as an environment variable MEETSRV_<NAME>."

    def postOptions(self):
        # twistd builds its log observer before it asks for the service: a JSON format must be
        # chosen now, by naming our observer factory as twistd's own --logger option
        from meetsrv.config import ConfigError, option_value

        raw = {k: v for k, v in self.items() if v is not None}
        try:
            log_format = option_value("log-format", raw)
        except ConfigError as e:
            raise SystemExit(f"meetsrv: error: {e}")
        parent = self.parent
        if log_format == "json" and parent is not None and not parent.get("logger"):
            from meetsrv import logs

            logs.note_twistd_options(parent.get("logfile"), bool(parent.get("nodaemon") or parent.get("debug")))
            parent["logger"] = "meetsrv.logs.json_observer"  # twistd imports it by this name

    def opt_version(self):
        from meetsrv import __version__

        print(f"meetsrv {__version__}")
        raise SystemExit(0)


@implementer(IServiceMaker, IPlugin)
class MeetServiceMaker:
    tapname = "meetsrv"
    description = "meetsrv: one server for meetup and event apps (five client APIs)."
    options = Options

    def makeService(self, options):
        """Before twistd runs its reactor: take the port first (a busy port fails before any file
        is made), then reach and migrate the database. A refusal is one line and exit status 1."""
        from twisted.internet import reactor

        from meetsrv.config import ConfigError, build_settings
        from meetsrv.service import MeetServer, MeetService, prepare_database
        from meetsrv.workers import WorkerSupervisor, check_workers

        raw = {k: v for k, v in options.items() if v not in (None, 0)}
        try:
            settings = build_settings(raw)
            check_workers(settings)
            if settings.workers > 1:
                # the supervisor holds the port, then migrates once before any worker starts;
                # with --redis the workers agree on a secret through the database
                supervisor = WorkerSupervisor(settings, raw)
                supervisor.hold_port()
                prepare_database(settings)
                return supervisor
            server = MeetServer(settings, reactor)
            refused = []
            server.listen().addErrback(refused.append)
            if refused:
                refused[0].raiseException()
            server.prepare()
        except ConfigError as e:
            # one clear line, not a traceback
            raise SystemExit(f"meetsrv: error: {e}")
        return MeetService(server)


serviceMaker = MeetServiceMaker()

"""One Settings value, built from twistd options and MEETSRV_* environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse


class ConfigError(ValueError):
    """A bad option value; twistd prints it as one line and exits."""


# The OAuth 2 providers the campus door signs in with (django-allauth's social login upstream).
OAUTH_PROVIDERS = ("vk", "google", "github")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class OAuthApp:
    """One provider's registered client, as allauth's SocialApp. An endpoint left None is the
    real provider's (core/accounts/oauth.py knows them)."""

    provider: str
    client_id: str
    client_secret: str
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None


@dataclass(frozen=True)
class Settings:
    port: str = "tcp:8080"
    db: str = "sqlite:///meetsrv.sqlite3"
    redis: str | None = None
    media: str = "./media"
    public_url: str | None = None
    secret: str | None = None
    debug: bool = False
    event_delay: float = 60.0
    max_body: int = 10 * 1024 * 1024
    allowed_origins: tuple[str, ...] = ()
    access_log: bool = False
    # Prefix of every Redis key and channel, so several deployments (or test runs) share one Redis.
    redis_prefix: str = "meetsrv:"
    # Largest WebSocket message a client may send.
    max_ws_message: int = 64 * 1024
    ws_ping_interval: float = 30.0
    # Largest image accepted, in pixels, read from its header before it is decoded (a 4000x4000
    # photo; decompression bombs).
    max_image_pixels: int = 16_000_000
    # The most parts of a multipart body (fields and files), and fields of a url-encoded form.
    max_multipart_parts: int = 100
    max_form_fields: int = 1000
    sms_gateway_url: str | None = None
    # SMS codes sent per minute to one client address, and in total (0: no limit); besides the
    # 5 attempts per phone number in 5 minutes.
    sms_per_client: int = 5
    sms_per_minute: int = 60
    social_verifier_url: str | None = None
    # Take a social login client's word without a verifier (also in --debug); a loud warning.
    social_trust_client: bool = False
    # VK's users.get, asked by the built-in verifier of `vk` logins (a fake one in tests).
    social_vk_url: str = "https://api.vk.com/method/users.get"
    # Cost of the password hash (scrypt N); tests lower it.
    password_cost: int = 2**14
    # Processes sharing the port (meetsrv.workers); a worker knows its index (1..N), else 0.
    workers: int = 1
    worker_index: int = 0
    # Campus sign-in providers, from MEETSRV_OAUTH_<P>_* (a provider not here is unconfigured).
    oauth_apps: tuple[OAuthApp, ...] = ()
    # Seconds a start keeps retrying a database it cannot reach (it may be starting too).
    db_wait: float = 30.0
    # Refuse to start on a database whose schema is behind, instead of upgrading it.
    no_migrate: bool = False
    # Prometheus metrics at /metrics on the main port, or only on metrics_port (a strports
    # description) when set; `metrics` False turns them off (nothing measured)
    metrics: bool = True
    metrics_port: str | None = None
    # "text" (twistd's lines) or "json" (one JSON object per line); read by the twistd plugin
    log_format: str = "text"
    # -- outages and slow peers ---------------------------------------------------------------
    # Seconds a Redis command (or a connection attempt) may take before what needs it answers
    # 503: a Redis outage fails requests fast instead of holding them.
    redis_timeout: float = 1.5
    # Seconds a credential stays in a process's cache (revocations published while Redis was
    # away are honoured at the latest after this).
    credential_cache_ttl: float = 30.0
    # Bytes a WebSocket may have waiting to be sent (a client that does not read) before it is
    # closed with 1008; the most sockets one credential may hold open (more: 429).
    ws_max_buffer: int = 1024 * 1024
    ws_per_credential: int = 20
    # Seconds a request has to send its headers (from its first byte), and its body (after the
    # headers); past that it is answered 408 and closed.
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    # Seconds a stopping server lets requests in flight finish before closing what is left.
    drain_timeout: float = 10.0

    # -- derived values -------------------------------------------------------------------
    def base_url(self, listening_port: int | None = None) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://localhost:{listening_port or self.tcp_port() or 8080}"

    def tcp_port(self) -> int | None:
        parts = self.port.split(":")
        if parts[0] in ("tcp", "tcp6") and len(parts) > 1 and parts[1].isdigit():
            return int(parts[1])
        if parts[0].isdigit():
            return int(parts[0])
        return None

    def data_dir(self) -> Path:
        """Where generated state (the secret) is kept: beside the SQLite file, else the cwd."""
        if self.db.startswith("sqlite:///"):
            path = self.db[len("sqlite:///"):]
            if path and path != ":memory:":
                return Path(path).resolve().parent
        return Path.cwd()

    def secret_file(self) -> Path:
        return self.data_dir() / "meetsrv.secret"

    def kept_secret(self) -> str | None:
        """The secret kept in the data folder by an earlier start, if there is one."""
        keyfile = self.secret_file()
        return keyfile.read_text().strip() if keyfile.exists() else None

    def with_secret(self) -> Settings:
        """Return settings that carry a secret: given, or generated once and kept on disk."""
        if self.secret:
            return self
        keyfile = self.secret_file()
        secret = self.kept_secret()
        if secret is None:
            keyfile.parent.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_hex(32)
            fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secret)
        return replace(self, secret=secret)


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _number(name: str, value, kind):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"--{name}: expected a number, got {value!r}")
    if number < 0:
        raise ConfigError(f"--{name}: must not be negative, got {value!r}")
    return number


LOG_FORMATS = ("text", "json")


def _log_format(value) -> str:
    fmt = str(value).strip().lower()
    if fmt not in LOG_FORMATS:
        raise ConfigError(f"--log-format: expected json or text, got {value!r}")
    return fmt


def _positive(name: str, value) -> int:
    number = _number(name, value, int)
    if number < 1:
        raise ConfigError(f"--{name}: must be at least 1, got {value!r}")
    return number


# option name -> (Settings field, converter)
OPTIONS = {
    "port": ("port", str),
    "db": ("db", str),
    "redis": ("redis", str),
    "media": ("media", str),
    "public-url": ("public_url", str),
    "secret": ("secret", str),
    "debug": ("debug", _bool),
    "event-delay": ("event_delay", lambda v: _number("event-delay", v, float)),
    "db-wait": ("db_wait", lambda v: _number("db-wait", v, float)),
    "no-migrate": ("no_migrate", _bool),
    "max-body": ("max_body", lambda v: _number("max-body", v, int)),
    "allowed-origins": (
        "allowed_origins",
        lambda v: tuple(o.strip() for o in str(v).split(",") if o.strip()),
    ),
    "access-log": ("access_log", _bool),
    "redis-prefix": ("redis_prefix", str),
    "max-image-pixels": ("max_image_pixels", lambda v: _positive("max-image-pixels", v)),
    "max-multipart-parts": ("max_multipart_parts", lambda v: _positive("max-multipart-parts", v)),
    "max-form-fields": ("max_form_fields", lambda v: _positive("max-form-fields", v)),
    "sms-gateway-url": ("sms_gateway_url", str),
    "sms-per-client": ("sms_per_client", lambda v: _number("sms-per-client", v, int)),
    "sms-per-minute": ("sms_per_minute", lambda v: _number("sms-per-minute", v, int)),
    "social-verifier-url": ("social_verifier_url", str),
    "social-trust-client": ("social_trust_client", _bool),
    "social-vk-url": ("social_vk_url", str),
    "workers": ("workers", lambda v: _workers(v)),
    "worker-index": ("worker_index", lambda v: _number("worker-index", v, int)),
    "no-metrics": ("metrics", lambda v: not _bool(v)),
    "metrics-port": ("metrics_port", str),
    "log-format": ("log_format", _log_format),
    "redis-timeout": ("redis_timeout", lambda v: _seconds("redis-timeout", v)),
    "credential-cache-ttl": ("credential_cache_ttl", lambda v: _number("credential-cache-ttl", v, float)),
    "ws-max-buffer": ("ws_max_buffer", lambda v: _positive("ws-max-buffer", v)),
    "ws-per-credential": ("ws_per_credential", lambda v: _positive("ws-per-credential", v)),
    "header-timeout": ("header_timeout", lambda v: _seconds("header-timeout", v)),
    "body-timeout": ("body_timeout", lambda v: _seconds("body-timeout", v)),
    "drain-timeout": ("drain_timeout", lambda v: _number("drain-timeout", v, float)),
}


def _seconds(name: str, value) -> float:
    number = _number(name, value, float)
    if number <= 0:
        raise ConfigError(f"--{name}: must be more than 0 seconds, got {value!r}")
    return number


def _workers(value) -> int:
    from meetsrv.workers import worker_count

    return worker_count(value)


def env_name(option: str) -> str:
    return "MEETSRV_" + option.upper().replace("-", "_")


def build_settings(options: dict | None = None, environ: dict | None = None) -> Settings:
    """Options given on the command line win over MEETSRV_* variables, which win over defaults."""
    options = options or {}
    environ = os.environ if environ is None else environ
    values = {}
    for option, (attr, convert) in OPTIONS.items():
        raw = _raw_value(option, options, environ)
        if raw is not None:
            values[attr] = convert(raw)
    values["oauth_apps"] = oauth_apps(environ)
    settings = Settings(**values)
    validate(settings)
    return settings


def _raw_value(option: str, options: dict, environ):
    raw = options.get(option)
    if raw is None or raw is False:
        raw = environ.get(env_name(option))
    if raw is None or raw == "":
        return None
    return raw


def option_value(option: str, options: dict, environ: dict | None = None):
    """One option's value, from the command line, MEETSRV_<NAME> or the default (for what
    twistd needs before the settings are built, such as the log format)."""
    environ = os.environ if environ is None else environ
    attr, convert = OPTIONS[option]
    raw = _raw_value(option, options, environ)
    return getattr(Settings, attr) if raw is None else convert(raw)


def oauth_apps(environ) -> tuple[OAuthApp, ...]:
    """MEETSRV_OAUTH_<P>_CLIENT_ID and _CLIENT_SECRET configure provider P; _AUTHORIZE_URL,
    _TOKEN_URL and _USERINFO_URL replace its real endpoints."""
    apps = []
    for provider in OAUTH_PROVIDERS:
        prefix = f"MEETSRV_OAUTH_{provider.upper()}_"
        read = {name: (environ.get(prefix + name.upper()) or "").strip() or None
                for name in ("client_id", "client_secret", "authorize_url", "token_url", "userinfo_url")}
        if not any(read.values()):
            continue
        if not read["client_id"] or not read["client_secret"]:
            raise ConfigError(f"{prefix}CLIENT_ID and {prefix}CLIENT_SECRET are both needed to sign in with {provider}")
        apps.append(OAuthApp(provider, **read))
    return tuple(apps)


def _validate_oauth(app: OAuthApp) -> None:
    if app.provider not in OAUTH_PROVIDERS:
        raise ConfigError(f"OAuth provider {app.provider!r}: expected one of {', '.join(OAUTH_PROVIDERS)}")
    env = f"MEETSRV_OAUTH_{app.provider.upper()}_"
    for name in ("authorize_url", "token_url", "userinfo_url"):
        url = getattr(app, name)
        if url is None:
            continue
        u = urlparse(url)
        # the code and the access token travel to these: TLS, except to a provider on this
        # machine (a local fake); the browser is sent to the authorization URL, so always TLS
        plain_ok = u.scheme == "http" and u.hostname in _LOOPBACK and name != "authorize_url"
        if not u.netloc or not (u.scheme == "https" or plain_ok):
            allowed = "https://..." if name == "authorize_url" else "https://... (http:// only to a loopback host)"
            raise ConfigError(f"{env}{name.upper()}: expected {allowed}, got {url!r}")


def validate(settings: Settings) -> None:
    db = urlparse(settings.db)
    if db.scheme not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(
            f"--db: unsupported database URL {settings.db!r} "
            "(use sqlite:///path or postgresql://user:pass@host/db)"
        )
    if settings.redis is not None:
        r = urlparse(settings.redis)
        if r.scheme != "redis" or not r.hostname:
            raise ConfigError(f"--redis: unsupported Redis URL {settings.redis!r} (use redis://host:port/n)")
    if settings.public_url is not None:
        p = urlparse(settings.public_url)
        if p.scheme not in ("http", "https") or not p.netloc:
            raise ConfigError(f"--public-url: expected http(s)://host[:port], got {settings.public_url!r}")
    for app in settings.oauth_apps:
        _validate_oauth(app)
    for name, url in (("social-verifier-url", settings.social_verifier_url),
                      ("social-vk-url", settings.social_vk_url)):
        if url is not None:
            u = urlparse(url)
            if u.scheme not in ("http", "https") or not u.netloc:
                raise ConfigError(f"--{name}: expected an http(s) URL, got {url!r}")
    for origin in settings.allowed_origins:
        if "://" not in origin and origin != "*":
            raise ConfigError(f"--allowed-origins: expected scheme://host:port, got {origin!r}")


def redis_address(url: str) -> tuple[str, int, int]:
    r = urlparse(url)
    dbid = 0
    if r.path and r.path.strip("/"):
        try:
            dbid = int(r.path.strip("/"))
        except ValueError:
            raise ConfigError(f"--redis: bad database number in {url!r}")
    return r.hostname, r.port or 6379, dbid

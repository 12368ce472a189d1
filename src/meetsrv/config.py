"""One Settings value, built from twistd options and MEETSRV_* environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse


class ConfigError(ValueError):
    """A bad option value; twistd prints it as one line and exits."""


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
    # Largest decoded image, in pixels (decompression bombs).
    max_image_pixels: int = 40_000_000
    sms_gateway_url: str | None = None
    social_verifier_url: str | None = None
    # Cost of the password hash (scrypt N); tests lower it.
    password_cost: int = 2**14
    # Processes sharing the port (meetsrv.workers); a worker knows its index (1..N), else 0.
    workers: int = 1
    worker_index: int = 0

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

    def with_secret(self) -> "Settings":
        """Return settings that carry a secret: given, or generated once and kept on disk."""
        if self.secret:
            return self
        keyfile = self.data_dir() / "meetsrv.secret"
        if keyfile.exists():
            secret = keyfile.read_text().strip()
        else:
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
    "max-body": ("max_body", lambda v: _number("max-body", v, int)),
    "allowed-origins": (
        "allowed_origins",
        lambda v: tuple(o.strip() for o in str(v).split(",") if o.strip()),
    ),
    "access-log": ("access_log", _bool),
    "redis-prefix": ("redis_prefix", str),
    "sms-gateway-url": ("sms_gateway_url", str),
    "social-verifier-url": ("social_verifier_url", str),
    "workers": ("workers", lambda v: _workers(v)),
    "worker-index": ("worker_index", lambda v: _number("worker-index", v, int)),
}


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
        raw = options.get(option)
        if raw is None or raw is False:
            raw = environ.get(env_name(option))
        if raw is None or raw == "":
            continue
        values[attr] = convert(raw)
    settings = Settings(**values)
    validate(settings)
    return settings


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

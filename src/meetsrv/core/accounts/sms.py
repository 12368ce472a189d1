"""SMS sign-in codes: phone numbers, the gateway that sends texts, codes and attempt limits.

Codes and attempt counters live in the ephemeral store (in-process or Redis), with expiry read
from the injected clock, so the limits hold across processes and tests drive them with task.Clock.
Rules (as upstream meetrack): a code is 5 digits and lives 5 minutes; a new code voids the old;
at most 5 attempts (code sends plus wrong codes) per phone in 5 minutes; in debug mode the code
00000 is always accepted, without touching the counters.

Texts cost money, and a client that asks codes for many numbers pumps SMS (one sent 400 in
3 s): besides the per-number limit, codes sent per minute are limited per client address
(--sms-per-client) and in total (--sms-per-minute).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Awaitable
from typing import Any, Protocol

import phonenumbers
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import Interface, implementer

from meetsrv.bus import Ephemeral
from meetsrv.core.errors import Invalid, RateLimited

log = Logger()

CODE_LENGTH = 5
CODE_LIFE_TIME = 5 * 60
ATTEMPTS_LIMIT = 5
ATTEMPTS_LIFE_TIME = 5 * 60
DEBUG_CODE = "00000"
# the window of the per-client and total send limits
SEND_WINDOW = 60


class InvalidPhone(Invalid):
    code = "invalid_phone"


class InvalidCode(Invalid):
    code = "invalid_code"


def is_valid_phone(phone: object) -> bool:
    """International format only: starts with '+' and is a valid number (Google's plan data)."""
    if not isinstance(phone, str) or not phone.startswith("+") or len(phone) > 32:
        return False
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def normalize_phone(phone: object) -> str | None:
    """The number in E.164 (+79250741413), or None when it is not a valid international number.
    A valid E.164 input comes back unchanged; spaces and dashes are dropped, so one person has
    one phone string in users and contacts."""
    if not isinstance(phone, str) or not is_valid_phone(phone):
        return None
    return phonenumbers.format_number(phonenumbers.parse(phone, None), phonenumbers.PhoneNumberFormat.E164)


def new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))


class ISmsGateway(Interface):  # type: ignore[misc]
    def send(phone: str, text: str):  # type: ignore[no-untyped-def]
        """Send text to phone; returns a Deferred that fires when the gateway accepted it."""


class SmsGateway(Protocol):
    """ISmsGateway, for annotations."""

    def send(self, phone: str, text: str) -> Awaitable[None]: ...


@implementer(ISmsGateway)
class LogSmsGateway:
    """The default gateway: the text goes to the log (for development and --debug)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # the last few, for tests and debugging

    def send(self, phone: str, text: str) -> defer.Deferred[None]:
        log.info("SMS to {phone}: {text}", phone=phone, text=text)
        self.sent.append((phone, text))
        del self.sent[:-100]
        return defer.succeed(None)


@implementer(ISmsGateway)
class HttpSmsGateway:
    """POSTs {"phone","text"} as JSON to --sms-gateway-url (treq)."""

    def __init__(self, url: str, reactor: Any, timeout: float = 10.0):
        self.url = url
        self.reactor = reactor
        self.timeout = timeout

    async def send(self, phone: str, text: str) -> None:
        import treq

        body = json.dumps({"phone": phone, "text": text}).encode()
        headers: dict[bytes | str, list[bytes | str]] = {b"Content-Type": [b"application/json"]}
        response = await treq.post(self.url, data=body, headers=headers, timeout=self.timeout,
                                   reactor=self.reactor, persistent=False)
        await treq.content(response)
        if response.code >= 300:
            raise RuntimeError(f"SMS gateway answered {response.code}")


def _code_key(phone: str) -> str:
    return f"phone:{phone}:code"


def _attempts_key(phone: str) -> str:
    return f"phone:{phone}:attempts"


def client_key(address: str | None) -> str:
    """The limit key of a client address: an IPv6 client by its /64 (one subscriber's block,
    whose addresses cost nothing to change), any other by its address."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return f"sms:client:{address or '-'}"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return f"sms:client:{ip.ipv4_mapped}"
        return f"sms:client:{ipaddress.ip_network((ip, 64), strict=False)}"
    return f"sms:client:{ip}"


class PhoneCodes:
    def __init__(self, ephemeral: Ephemeral, gateway: SmsGateway, debug: bool = False, per_client: int = 5,
                 per_minute: int = 60):
        self.ephemeral = ephemeral
        self.gateway = gateway
        self.debug = debug
        self.per_client = per_client
        self.per_minute = per_minute

    async def _within(self, key: str, limit: int) -> None:
        if limit and (await self.ephemeral.incr(key, SEND_WINDOW)) > limit:
            raise RateLimited("too many codes")

    async def send(self, phone: str, client: str | None = None) -> str:
        """Store a new code (voiding the old) and text it; RateLimited past the client's, the
        phone's or the total limit. Each send counts as an attempt of the phone."""
        await self._within(client_key(client), self.per_client)
        attempts = await self.ephemeral.incr(_attempts_key(phone), ATTEMPTS_LIFE_TIME)
        if attempts > ATTEMPTS_LIMIT:
            raise RateLimited("too many attempts")
        await self._within("sms:total", self.per_minute)
        code = new_code()
        # stored with a prefix: the Redis client turns number-like replies ("01234") into ints
        await self.ephemeral.set(_code_key(phone), "c" + code, CODE_LIFE_TIME)
        try:
            await self.gateway.send(phone, f"Your code: {code}")
        except Exception:
            log.failure("SMS gateway failed for {phone}", phone=phone)
        return code

    async def check(self, phone: str, code: str, spend: bool = True) -> None:
        """Accept the right code once (it is spent, unless `spend` is False: then the caller
        spends it with spend() once it has used it); InvalidCode / RateLimited otherwise."""
        if self.debug and code == DEBUG_CODE:
            return
        stored = await self.ephemeral.get(_code_key(phone))
        if stored is None:
            raise InvalidCode("Code is invalid.")
        attempts = await self.ephemeral.get(_attempts_key(phone))
        if attempts is not None and int(attempts) >= ATTEMPTS_LIMIT:
            raise RateLimited("too many attempts")
        if not secrets.compare_digest(str(stored).encode(), ("c" + code).encode()):
            if await self.ephemeral.incr(_attempts_key(phone), ATTEMPTS_LIFE_TIME) > ATTEMPTS_LIMIT:  # lost a race with other guesses
                raise RateLimited("too many attempts")
            raise InvalidCode("Code is invalid.")
        if spend:
            await self.spend(phone)

    async def spend(self, phone: str) -> None:
        await self.ephemeral.delete(_code_key(phone))
        await self.ephemeral.delete(_attempts_key(phone))


def build_gateway(settings: Any, reactor: Any) -> SmsGateway:
    if settings.sms_gateway_url:
        return HttpSmsGateway(settings.sms_gateway_url, reactor)
    if not settings.debug:
        log.warn("no --sms-gateway-url: SMS codes are only written to the log")
    return LogSmsGateway()

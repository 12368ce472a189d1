"""Social sign-up and login by (provider, external id), with a pluggable token verifier.

Logins fail closed: a provider nothing can verify is refused. VK tokens are verified by a
built-in verifier (users.get); --social-verifier-url verifies every provider; only --debug or
--social-trust-client takes the client's word.

The social door's token is the same on every login (upstream's DRF authtoken never changed).
Only hashes are stored, so the token is derived: HMAC(secret, "social:<user id>"), 40 hex, and
its hash is stored once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable
from typing import Any, Protocol

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import Interface, implementer

from meetsrv.core.accounts.credentials import CredentialService
from meetsrv.core.clock import Clock
from meetsrv.core.errors import DomainError
from meetsrv.core.people.names import DisplayNameRule
from meetsrv.store.accounts.social import SocialStore
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.db import Conflict

log = Logger()

JSON_HEADERS: dict[bytes | str, list[bytes | str]] = {b"Content-Type": [b"application/json"]}

TOKEN_KIND = "social"
PROFILE_FIELDS = ("name", "about", "birth_date", "gender")


class SocialTokenRefused(DomainError):
    code = "social_token_refused"


class NoVerifier(SocialTokenRefused):
    """No verifier is configured for the provider: the login is refused (fails closed)."""

    code = "no_social_verifier"


class VerifierUnavailable(DomainError):
    code = "verifier_unavailable"


class ISocialVerifier(Interface):  # type: ignore[misc]
    def verify(provider: str, external_id: str, token: str):  # type: ignore[no-untyped-def]
        """A Deferred firing True when `token` belongs to (provider, external_id), False when the
        provider says it does not; it fails with VerifierUnavailable when it cannot tell, with
        NoVerifier when nothing can verify the provider."""


class SocialVerifier(Protocol):
    """ISocialVerifier, for annotations."""

    def verify(self, provider: str, external_id: str, token: str) -> Awaitable[bool]: ...

    def warn(self) -> None: ...


@implementer(ISocialVerifier)
class TrustingVerifier:
    """The client's word is taken (upstream did the same): only with --debug or
    --social-trust-client."""

    def warn(self) -> None:
        log.critical(
            "SOCIAL LOGINS ARE NOT VERIFIED (--debug or --social-trust-client): any client can "
            "log in as any (social_slug, external_id)"
        )

    def verify(self, provider: str, external_id: str, token: str) -> defer.Deferred[bool]:
        return defer.succeed(True)


@implementer(ISocialVerifier)
class HttpVerifier:
    """Asks the provider (or a gateway in front of several): POST JSON
    {"social_slug", "external_id", "token"} to the URL; the answer 200 with
    {"external_id": <id the token belongs to>} accepts when the id matches. Any other answer
    refuses; no answer in `timeout` seconds is VerifierUnavailable."""

    def __init__(self, url: str, reactor: Any, timeout: float = 10.0):
        self.url = url
        self.reactor = reactor
        self.timeout = timeout

    def warn(self) -> None:
        return None

    async def verify(self, provider: str, external_id: str, token: str) -> bool:
        body = json.dumps({"social_slug": provider, "external_id": external_id, "token": token}).encode()
        code, answer = await _ask(self.reactor, "POST", self.url, self.timeout, data=body,
                                  headers=JSON_HEADERS)
        if code != 200 or not isinstance(answer, dict):
            return False
        return str(answer.get("external_id")) == str(external_id)


@implementer(ISocialVerifier)
class VkVerifier:
    """VK's users.get asked with the client's access token: the token belongs to the user
    users.get answers for, whose id must be the external_id."""

    API_VERSION = "5.131"

    def __init__(self, url: str, reactor: Any, timeout: float = 10.0):
        self.url = url
        self.reactor = reactor
        self.timeout = timeout

    def warn(self) -> None:
        return None

    async def verify(self, provider: str, external_id: str, token: str) -> bool:
        # a form POST: the token stays out of URLs (and the logs of anything in between)
        code, answer = await _ask(self.reactor, "POST", self.url, self.timeout,
                                  data={"access_token": token, "v": self.API_VERSION})
        if code != 200 or not isinstance(answer, dict):
            return False
        users = answer.get("response")  # an invalid token is answered {"error": {...}}
        if not isinstance(users, list) or not users or not isinstance(users[0], dict):
            return False
        return str(users[0].get("id")) == str(external_id)


async def _ask(reactor: Any, method: str, url: str, timeout: float, **kwargs: Any) -> tuple[int, Any]:
    """(status, JSON answer or None) of one request to a provider; VerifierUnavailable when it
    cannot be reached."""
    import treq

    try:
        response = await treq.request(method, url, timeout=timeout, reactor=reactor, persistent=False, **kwargs)
        raw = await treq.content(response)
    except Exception as e:
        log.warn("social verifier unreachable: {error}", error=e)
        raise VerifierUnavailable("the social provider could not be reached")
    try:
        return response.code, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return response.code, None


@implementer(ISocialVerifier)
class ProviderVerifiers:
    """The verifier of each login's provider. --social-verifier-url verifies every provider;
    without it, --debug or --social-trust-client trusts the client, or else a built-in
    verifier (vk) verifies its provider and any other provider is refused."""

    def __init__(self, builtin: dict[str, SocialVerifier], generic: SocialVerifier | None = None,
                 trust: bool = False):
        self.builtin = builtin
        self.generic = generic
        self.trust = TrustingVerifier() if trust and generic is None else None

    def for_provider(self, provider: str) -> SocialVerifier | None:
        return self.generic or self.trust or self.builtin.get(provider)

    def warn(self) -> None:
        if self.trust is not None:
            self.trust.warn()
        elif self.generic is None:
            log.warn(
                "social logins: only {providers} logins are verified (built in); any other provider is "
                "refused: set --social-verifier-url to verify them", providers=", ".join(sorted(self.builtin)),
            )

    async def verify(self, provider: str, external_id: str, token: str) -> bool:
        verifier = self.for_provider(provider)
        if verifier is None:
            raise NoVerifier(f"no verifier for social provider {provider!r}")
        return await verifier.verify(provider, external_id, token)


def make_verifier(settings: Any, reactor: Any) -> SocialVerifier:
    generic = HttpVerifier(settings.social_verifier_url, reactor) if settings.social_verifier_url else None
    return ProviderVerifiers(
        {"vk": VkVerifier(settings.social_vk_url, reactor)}, generic,
        trust=settings.debug or settings.social_trust_client,
    )


class SocialIdentities:
    """The user linked to (provider, external id), made on first sight. One rule for the social
    door's token login and the campus door's OAuth sign-in (core/accounts/oauth.py), so one VK
    id is one user on both doors."""

    def __init__(self, store: SocialStore, secret: str, clock: Clock):
        self.store = store
        self.secret = secret
        self.clock = clock

    async def user_for(self, provider: str, external_id: str, name: str, token_digest: str | None = None,
                       door: str = "social") -> tuple[int, bool]:
        """(user id, created). `token_digest` (the social door's token hash) is kept on the
        identity when given; a new user gets `name` as its display name and `door` as the door
        it came from."""
        user_id = await self.store.user_for(provider, external_id)
        if user_id is None:
            try:
                return (await self._signup(provider, external_id, token_digest or "", name, door)), True
            except Conflict:
                user_id = await self.store.user_for(provider, external_id)  # a parallel first login
                if user_id is None:
                    raise
        if token_digest is not None:
            await self.store.set_token(provider, external_id, token_digest)
        return user_id, False

    async def _signup(self, provider: str, external_id: str, token_digest: str, name: str, door: str) -> int:
        now = self.clock.seconds()
        username = hashlib.sha224(f"{provider}:{external_id}:{self.secret}".encode()).hexdigest()[:20]
        try:
            return await self.store.signup(provider, external_id, token_digest, name, username, now, door)
        except Conflict:
            pass  # the username was taken by someone else (a rooms or campus login): a random one
        existing = await self.store.user_for(provider, external_id)
        if existing is not None:
            return existing
        username = "u" + secrets.token_hex(10)
        return await self.store.signup(provider, external_id, token_digest, name, username, now, door)


class SocialLoginService:
    def __init__(self, identities: SocialIdentities, users: UserStore, credentials: CredentialService,
                 verifier: SocialVerifier, secret: str, name_rule: DisplayNameRule):
        self.identities = identities
        self.name_rule = name_rule
        self.users = users
        self.credentials = credentials
        self.verifier = verifier
        self.secret = secret

    def token_for(self, user_id: int) -> str:
        return hmac.new(self.secret.encode(), f"social:{user_id}".encode(), hashlib.sha256).hexdigest()[:40]

    async def login(self, provider: str, external_id: str, token: str, first_name: str) -> tuple[int, str, bool]:
        """(user id, token, created): signs up on the first login."""
        ok = await self.verifier.verify(provider, external_id, token)
        if not ok:
            raise SocialTokenRefused("the social token was refused by the provider")
        token_digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        user_id, created = await self.identities.user_for(provider, external_id, first_name, token_digest)
        api_token = await self.ensure_token(user_id)
        return user_id, api_token, created

    async def update_profile(self, user_id: int, values: dict[str, Any]) -> None:
        """Write the profile fields the social app edits (name, about, birth_date, gender);
        the username is not among them, so an edit never collides with another user.
        DisplayNameInvalid for a name the door's rule refuses."""
        values = {k: v for k, v in values.items() if k in PROFILE_FIELDS}
        if "name" in values:
            self.name_rule.check(values["name"], "first_name")
        if values:
            await self.users.update(user_id, **values)

    async def ensure_token(self, user_id: int) -> str:
        token = self.token_for(user_id)
        known = await self.credentials.authenticate(token, (TOKEN_KIND,))
        if known is None:
            try:
                await self.credentials.issue(user_id, TOKEN_KIND, token=token)
            except Conflict:
                pass  # a parallel login issued the same token
        return token

"""Sign-in with OAuth 2 providers (VK, Google, GitHub), as django-allauth did it for the campus
door: the authorization code flow, one provider app per provider (config.OAuthApp).

`begin` makes a one-time state, kept in the ephemeral store for STATE_LIFE seconds (so any
process can finish the sign-in) and bound to a secret of the browser that asked (a cookie the
door keeps); it answers the provider's authorization URL. `finish` spends the state whatever
happens next, exchanges the code at the provider's token URL, reads the provider's user with
the access token and answers the user linked to (provider, provider user id), made on first
sight through the social identities: a VK id is one user on the campus and the social door.

oauthlib builds the authorization URL and the token request and parses the token answer;
treq carries the requests. Each provider call has PROVIDER_TIMEOUT seconds on the injected clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from oauthlib.oauth2 import WebApplicationClient
from twisted.internet import defer
from twisted.logger import Logger

from meetsrv.bus import Ephemeral
from meetsrv.config import OAUTH_PROVIDERS, OAuthApp
from meetsrv.core.accounts.social import SocialIdentities
from meetsrv.core.clock import Clock, reactor_time
from meetsrv.core.errors import NotPermitted
from meetsrv.core.people.names import CAMPUS_NAME

log = Logger()

# a provider's JSON answer (the token answer, the userinfo answer)
Answer = dict[str, Any]

STATE_LIFE = 600.0  # seconds a sign-in may take at the provider
PROVIDER_TIMEOUT = 10.0  # seconds for one call to a provider
MAX_ANSWER = 256 * 1024  # a provider's answer larger than this is refused
MAX_STATE = 128
MAX_EXTERNAL_ID = 64  # social_identities.external_id
VK_API_VERSION = "5.131"  # users.get needs one; fields read here are stable across versions


class OAuthRefused(NotPermitted):
    code = "oauth_refused"


class ProviderNotConfigured(NotPermitted):
    code = "oauth_not_configured"


@dataclass(frozen=True)
class ProviderUser:
    external_id: str
    name: str


@dataclass(frozen=True)
class Provider:
    """What differs between providers: real endpoints, scope and how their user reads."""

    name: str
    authorize_url: str
    token_url: str
    userinfo_url: str
    scope: tuple[str, ...]
    # (token answer, userinfo answer) -> ProviderUser; raises ValueError/KeyError/TypeError
    read_user: Callable[[Answer, Any], ProviderUser]
    # the access token goes in the query (VK's API) rather than an Authorization header
    token_in_query: bool = False

    def userinfo_request(self, url: str, access_token: str) -> tuple[str, dict[str, str]]:
        headers = {"Accept": "application/json", "User-Agent": "meetsrv"}  # GitHub wants a User-Agent
        if self.token_in_query:
            sep = "&" if "?" in url else "?"
            return url + sep + urlencode({"access_token": access_token, "v": VK_API_VERSION}), headers
        return url, dict(headers, Authorization=f"Bearer {access_token}")


def _id(value: object) -> str:
    """A provider's user id as the social identities keep it: the decimal text of a number."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("no user id")
    text = str(value).strip()
    if not text or len(text) > MAX_EXTERNAL_ID:
        raise ValueError("bad user id")
    return text


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _github_user(token: Answer, info: Any) -> ProviderUser:
    return ProviderUser(_id(info["id"]), _text(info.get("name")) or _text(info.get("login")))


def _google_user(token: Answer, info: Any) -> ProviderUser:
    return ProviderUser(_id(info["sub"]), _text(info.get("name")))


def _vk_user(token: Answer, info: Any) -> ProviderUser:
    if "error" in info:
        raise ValueError(f"VK API error {info['error']!r}")
    person = info["response"][0]
    user = ProviderUser(_id(person["id"]),
                        " ".join(p for p in (_text(person.get("first_name")), _text(person.get("last_name"))) if p))
    # the token answer names its user too; both must agree
    if token.get("user_id") is not None and _id(token["user_id"]) != user.external_id:
        raise ValueError("VK token and users.get name different users")
    return user


PROVIDERS = {
    "github": Provider(
        "github",
        authorize_url="https://github.com/login/oauth/authorize",
        token_url="https://github.com/login/oauth/access_token",
        userinfo_url="https://api.github.com/user",
        scope=("read:user",),
        read_user=_github_user,
    ),
    "google": Provider(
        "google",
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        userinfo_url="https://openidconnect.googleapis.com/v1/userinfo",
        scope=("openid", "profile"),
        read_user=_google_user,
    ),
    "vk": Provider(
        "vk",
        authorize_url="https://oauth.vk.com/authorize",
        token_url="https://oauth.vk.com/access_token",
        userinfo_url="https://api.vk.com/method/users.get",
        scope=(),  # users.get needs no permission for the id and name (allauth asked none)
        read_user=_vk_user,
        token_in_query=True,
    ),
}
assert set(PROVIDERS) == set(OAUTH_PROVIDERS)


@dataclass(frozen=True)
class ConfiguredProvider:
    provider: Provider
    app: OAuthApp

    @property
    def authorize_url(self) -> str:
        return self.app.authorize_url or self.provider.authorize_url

    @property
    def token_url(self) -> str:
        return self.app.token_url or self.provider.token_url

    @property
    def userinfo_url(self) -> str:
        return self.app.userinfo_url or self.provider.userinfo_url


def _browser_digest(browser: str) -> str:
    return hashlib.sha256(browser.encode("utf-8", "surrogatepass")).hexdigest()


def _state_key(state: str) -> str:
    return "oauth-state:" + state


class _TooLarge(Exception):
    pass


def _timed_out(result: object, timeout: float) -> None:
    raise defer.TimeoutError(f"no answer in {timeout} s")


class OAuthSignIn:
    """`reactor` carries the HTTP requests; `clock` times them out (a task.Clock in tests)."""

    def __init__(self, apps: Iterable[OAuthApp], identities: SocialIdentities, ephemeral: Ephemeral, reactor: Any,
                 clock: Clock, timeout: float = PROVIDER_TIMEOUT):
        self.providers = {a.provider: ConfiguredProvider(PROVIDERS[a.provider], a)
                          for a in apps if a.provider in PROVIDERS}
        self.identities = identities
        self.ephemeral = ephemeral
        self.reactor = reactor
        self.clock = clock
        self.timeout = timeout

    @staticmethod
    def known(provider: str) -> bool:
        return provider in PROVIDERS

    def configured(self, provider: str) -> ConfiguredProvider:
        configured = self.providers.get(provider)
        if configured is None:
            raise ProviderNotConfigured(f"Sign-in with {provider} is not configured")
        return configured

    async def begin(self, provider: str, browser: str, next_path: str, redirect_uri: str) -> str:
        """The provider's authorization URL with a new one-time state bound to `browser` (a
        secret only that browser holds); `next_path` is kept for `finish`."""
        configured = self.configured(provider)
        state = secrets.token_urlsafe(32)
        saved = json.dumps({"provider": provider, "browser": _browser_digest(browser), "next": next_path})
        await self.ephemeral.set(_state_key(state), saved, STATE_LIFE)
        client = WebApplicationClient(configured.app.client_id)
        url: str = client.prepare_request_uri(
            configured.authorize_url, redirect_uri=redirect_uri, scope=list(configured.provider.scope) or None,
            state=state,
        )
        return url

    async def finish(self, provider: str, browser: str | None, state: str | None, code: str | None,
                     error: str | None, redirect_uri: str) -> tuple[int, str]:
        """(user id, the next path given to `begin`); OAuthRefused or ProviderNotConfigured."""
        configured = self.configured(provider)
        if not state or len(state) > MAX_STATE:
            raise OAuthRefused("Invalid sign-in state")
        raw = await self.ephemeral.take(_state_key(state))  # one-time: spent whatever follows
        if raw is None:
            raise OAuthRefused("Invalid or expired sign-in state")
        saved = json.loads(raw)
        if saved["provider"] != provider:
            raise OAuthRefused("Invalid sign-in state")
        if not browser or not hmac.compare_digest(saved["browser"], _browser_digest(browser)):
            raise OAuthRefused("The sign-in was started in another browser")
        if error:
            raise OAuthRefused(f"{provider} refused the sign-in")
        if not code:
            raise OAuthRefused(f"{provider} sent no authorization code")
        token = await self._exchange(configured, code, redirect_uri)
        user = await self._read_user(configured, token)
        # the campus door's name rule holds for a name the provider gives (cut, not refused)
        name = (user.name or f"{provider} {user.external_id}")[:CAMPUS_NAME.max_length]
        user_id, _ = await self.identities.user_for(provider, user.external_id, name, door="campus")
        next_path: str = saved["next"]
        return user_id, next_path

    # -- talking to the provider -------------------------------------------------------------
    async def _exchange(self, configured: ConfiguredProvider, code: str, redirect_uri: str) -> Answer:
        """The token answer for `code` (a form POST to the token URL, as RFC 6749 4.1.3)."""
        client = WebApplicationClient(configured.app.client_id)
        body = client.prepare_request_body(
            code=code, redirect_uri=redirect_uri, include_client_id=True,
            client_secret=configured.app.client_secret,
        )
        status, text = await self._call(
            configured, "POST", configured.token_url, body.encode("utf-8"),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        if status != 200:
            log.warn("{provider} refused the code exchange: HTTP {status}", provider=configured.provider.name,
                     status=status)
            raise OAuthRefused(f"{configured.provider.name} refused the authorization code")
        try:
            # the client was made without a scope, so a narrower grant is not an error here
            token = dict(client.parse_request_body_response(text))
        except Exception as e:  # oauthlib's OAuth2Error (an `error` answer), or no access token
            log.warn("{provider} refused the code exchange: {error!r}", provider=configured.provider.name, error=e)
            raise OAuthRefused(f"{configured.provider.name} refused the authorization code")
        if not isinstance(token.get("access_token"), str) or not token["access_token"]:
            raise OAuthRefused(f"{configured.provider.name} refused the authorization code")
        return token

    async def _read_user(self, configured: ConfiguredProvider, token: Answer) -> ProviderUser:
        url, headers = configured.provider.userinfo_request(configured.userinfo_url, token["access_token"])
        status, text = await self._call(configured, "GET", url, None, headers)
        try:
            if status != 200:
                raise ValueError(f"HTTP {status}")
            return configured.provider.read_user(token, json.loads(text))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            log.warn("{provider} user could not be read: {error!r}", provider=configured.provider.name, error=e)
            raise OAuthRefused(f"The {configured.provider.name} user could not be read")

    async def _call(self, configured: ConfiguredProvider, method: str, url: str, body: bytes | None,
                    headers: dict[str, str]) -> tuple[int, str]:
        """(status, body text) of one request, in `timeout` seconds on the clock."""
        d = defer.Deferred.fromCoroutine(self._request(method, url, body, headers))
        # cancelling treq fails with its own error (ResponseNeverReceived, ...): a timeout it is
        d.addTimeout(self.timeout, reactor_time(self.clock), onTimeoutCancel=_timed_out)
        try:
            return await d
        except defer.TimeoutError:
            log.warn("{provider} did not answer {url} in {timeout} s", provider=configured.provider.name,
                     url=url.split("?", 1)[0], timeout=self.timeout)
            raise OAuthRefused(f"{configured.provider.name} did not answer")
        except _TooLarge:
            raise OAuthRefused(f"{configured.provider.name} answered too much")
        except Exception as e:
            log.warn("{provider} could not be reached: {error!r}", provider=configured.provider.name, error=e)
            raise OAuthRefused(f"{configured.provider.name} could not be reached")

    async def _request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
        import treq

        header_lists: dict[bytes | str, list[bytes | str]] = {k: [v] for k, v in headers.items()}
        response = await treq.request(
            method, url, data=body, headers=header_lists,
            reactor=self.reactor, persistent=False,
        )
        chunks: list[bytes] = []
        size = 0

        def collect(data: bytes) -> None:
            nonlocal size
            size += len(data)
            if size > MAX_ANSWER:
                raise _TooLarge()  # treq.collect aborts the connection
            chunks.append(data)

        await treq.collect(response, collect)
        return response.code, b"".join(chunks).decode("utf-8", "replace")

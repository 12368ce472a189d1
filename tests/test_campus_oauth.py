"""Campus sign-in through OAuth 2 providers (django-allauth's social login links), through the real
port, against VK, Google and GitHub as a fake served by the test on a loopback port.

The test plays the browser: it starts at /accounts/<provider>/login/, reads the authorization
URL it is sent to, and comes back to the callback with a code the fake provider knows (the
provider's own pages are never visited).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_twisted
from twisted.internet import defer
from twisted.internet.error import ConnectionDone, ConnectionLost

from meetsrv.config import OAuthApp
from tests.clients.base import http  # noqa: F401  (no shared cookie jar)
from tests.clients.campus import User, cookies_of
from tests.clients.social import login as social_login

OK = {"error": 0, "error_msg": ""}
PROVIDERS = ("vk", "google", "github")


def err3(msg):
    return {"error": 3, "error_msg": msg}


class FakeProvider:
    """Token and userinfo endpoints of the three providers, each answering in its own shape.
    `grant(provider, info)` makes a code whose access token reads `info` from the userinfo
    endpoint. The code "hang" is never answered; any other unknown code is refused."""

    def __init__(self):
        self.codes: dict[str, tuple[str, dict]] = {}  # code -> (provider, token answer)
        self.infos: dict[str, object] = {}  # access token -> userinfo answer
        self.token_requests: list[tuple[str, dict]] = []
        self.userinfo_requests: list[tuple[str, dict, dict]] = []  # (provider, query, headers)
        self.hung = defer.DeferredQueue()
        self.port = None
        self.redirect_base = None  # the server's public URL, set once it listens

    # -- test side ----------------------------------------------------------------------------
    def grant(self, provider: str, info, token_extra: dict | None = None) -> str:
        code = f"code-{len(self.codes) + 1}"
        access = f"{provider}-access-{len(self.codes) + 1}"
        answer = {
            "github": {"access_token": access, "token_type": "bearer", "scope": "read:user"},
            # Google names the scope it granted in full, not as asked: not an error
            "google": {"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                       "scope": "openid https://www.googleapis.com/auth/userinfo.profile", "id_token": "x.y.z"},
            # VK: no token_type; the user id rides along
            "vk": {"access_token": access, "expires_in": 86400},
        }[provider]
        answer.update(token_extra or {})
        self.codes[code] = (provider, answer)
        self.infos[access] = info
        return code

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}{path}"

    def app(self, provider: str) -> OAuthApp:
        return OAuthApp(provider, f"{provider}-client", f"{provider}-secret",
                        authorize_url=f"https://{provider}.provider.test/authorize?display=page",
                        token_url=self.url(f"/{provider}/token"), userinfo_url=self.url(f"/{provider}/userinfo"))

    def apps(self, providers=PROVIDERS) -> tuple[OAuthApp, ...]:
        return tuple(self.app(p) for p in providers)

    # -- provider side ------------------------------------------------------------------------
    def resource(self):
        from twisted.web.resource import Resource
        from twisted.web.server import NOT_DONE_YET

        fake = self

        class Endpoints(Resource):
            isLeaf = True

            def render(self, request):
                provider, what = [p.decode() for p in request.postpath[:2]]
                request.setHeader(b"content-type", b"application/json")
                if what == "token":
                    return fake.token(request, provider, NOT_DONE_YET)
                return fake.userinfo(request, provider)

        return Endpoints()

    def refuse(self, request, provider: str) -> bytes:
        if provider == "github":  # GitHub answers 200 with an error
            return json.dumps({"error": "bad_verification_code",
                               "error_description": "The code passed is incorrect or expired."}).encode()
        request.setResponseCode(401 if provider == "vk" else 400)
        return json.dumps({"error": "invalid_grant"}).encode()

    def token(self, request, provider: str, not_done_yet):
        assert request.method == b"POST"
        assert request.getHeader(b"content-type") == b"application/x-www-form-urlencoded"
        form = {k: v[-1] for k, v in parse_qs(request.content.read().decode()).items()}
        self.token_requests.append((provider, form))
        if form.get("code") == "hang":
            self.hung.put(request)
            return not_done_yet
        expected = {"client_id": f"{provider}-client", "client_secret": f"{provider}-secret",
                    "grant_type": "authorization_code",
                    "redirect_uri": f"{self.redirect_base}/accounts/{provider}/login/callback/"}
        granted = self.codes.get(form.get("code"))
        if any(form.get(k) != v for k, v in expected.items()) or granted is None or granted[0] != provider:
            return self.refuse(request, provider)
        return json.dumps(granted[1]).encode()

    def userinfo(self, request, provider: str) -> bytes:
        assert request.method == b"GET"
        query = {k.decode(): v[-1].decode() for k, v in request.args.items()}
        headers = {k.decode().lower(): v[-1].decode() for k, v in request.requestHeaders.getAllRawHeaders()}
        self.userinfo_requests.append((provider, query, headers))
        if provider == "vk":
            access = query.get("access_token")
            if query.get("v") is None:
                return json.dumps({"error": {"error_code": 8, "error_msg": "Invalid request: v is required"}}).encode()
        else:
            access = headers.get("authorization", "").removeprefix("Bearer ")
        info = self.infos.get(access)
        if info is None:
            if provider == "vk":
                return json.dumps({"error": {"error_code": 5, "error_msg": "User authorization failed"}}).encode()
            request.setResponseCode(401)
            return b'{"message": "Bad credentials"}'
        return json.dumps(info).encode()


@pytest_twisted.async_yield_fixture
async def provider():
    from twisted.internet import reactor
    from twisted.web.server import Site

    fake = FakeProvider()
    fake.port = reactor.listenTCP(0, Site(fake.resource()), interface="127.0.0.1")
    yield fake
    await fake.port.stopListening()


@pytest.fixture
def start(start_server, provider):
    """start(providers=all three, clock=None) -> a server signing in with the fake provider."""

    async def start_(providers=PROVIDERS, clock=None):
        server = await start_server(clock=clock, oauth_apps=provider.apps(providers))
        provider.redirect_base = server.services.base_url
        return server

    return start_


class Browser:
    """One browser: its own cookies, following no redirect by itself."""

    def __init__(self, http, server):
        self.http = http
        self.server = server
        self.cookies: dict = {}

    def headers(self) -> dict:
        live = {k: v for k, v in self.cookies.items() if v}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in live.items())} if live else {}

    async def get(self, path, params=None):
        r = await self.http.get(self.server.url + path, params=params, headers=self.headers(),
                                follow_redirects=False)
        self.cookies.update(cookies_of(r))
        self.last = r
        return r

    async def start(self, provider: str, next_path: str | None = None):
        """The authorization URL's parts, after the 302 of /accounts/<provider>/login/."""
        r = await self.get(f"/accounts/{provider}/login/", params={"next": next_path} if next_path else None)
        assert r.code == 302, r
        location = urlsplit(r.header("location"))
        return location, {k: v[-1] for k, v in parse_qs(location.query).items()}

    async def callback(self, provider: str, **params):
        return await self.get(f"/accounts/{provider}/login/callback/", params=params)

    async def sign_in(self, fake: FakeProvider, provider: str, info, next_path=None, token_extra=None):
        _, query = await self.start(provider, next_path)
        r = await self.callback(provider, code=fake.grant(provider, info, token_extra), state=query["state"])
        assert r.code == 302, r
        return r

    async def user_id(self):
        r = await self.get("/api/auth/GetCurrentUserId")
        assert r.code == 200 and r.json["error"] == 0, r
        return r.json["response"]["user_id"]


def vk_info(vk_id=112002, first="Илья", last="Петров"):
    return {"response": [{"id": vk_id, "first_name": first, "last_name": last, "can_access_closed": True}]}


# (provider, userinfo answer, provider user id, display name of a new user, scope asked)
USERS = [
    ("vk", vk_info(), "112002", "Илья Петров", None),
    ("google", {"sub": "110169484474386276334", "name": "Ann Lee", "given_name": "Ann", "picture": "x"},
     "110169484474386276334", "Ann Lee", "openid profile"),
    ("github", {"id": 583231, "login": "octocat", "name": "The Octocat", "type": "User"},
     "583231", "The Octocat", "read:user"),
    ("github", {"id": 9919, "login": "no-name", "name": None, "type": "User"}, "9919", "no-name", "read:user"),
    # a name longer than the campus allows (128) is cut; none at all names the provider account
    ("google", {"sub": "77", "name": "Я" * 200}, "77", "Я" * 128, "openid profile"),
    ("google", {"sub": "78"}, "78", "google 78", "openid profile"),
]


# -- the whole flow ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,info,external_id,display_name,scope", USERS)
@pytest_twisted.ensureDeferred
async def test_sign_in_with_each_provider(start, provider, http, name, info, external_id, display_name, scope):
    server = await start()
    browser = Browser(http, server)
    location, query = await browser.start(name)
    # the provider's authorization URL (its own query kept), as allauth sent the browser there
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"https://{name}.provider.test/authorize"
    state = query.pop("state")
    expected = {"display": "page", "client_id": f"{name}-client", "response_type": "code",
                "redirect_uri": f"{server.services.base_url}/accounts/{name}/login/callback/"}
    if scope:
        expected["scope"] = scope
    assert query == expected
    assert len(state) >= 32
    raw = [c for c in browser.last.headers.getRawHeaders("set-cookie") if c.startswith("oauthbrowser=")]
    assert raw and "HttpOnly" in raw[0] and "Path=/accounts/" in raw[0] and "SameSite=lax" in raw[0]

    code = provider.grant(name, info, {"user_id": int(external_id)} if name == "vk" else None)
    r = await browser.callback(name, code=code, state=state)
    assert (r.code, r.header("location")) == (302, "/")
    assert browser.cookies["sessionid"] and browser.cookies["csrftoken"]
    # the code was exchanged as RFC 6749 says, and the user read with the access token
    assert provider.token_requests[-1] == (name, {
        "grant_type": "authorization_code", "code": code, "client_id": f"{name}-client",
        "client_secret": f"{name}-secret", "redirect_uri": expected["redirect_uri"]})
    got, query_sent, headers_sent = provider.userinfo_requests[-1]
    access = provider.codes[code][1]["access_token"]
    if name == "vk":
        assert query_sent["access_token"] == access and query_sent["v"]
    else:
        assert headers_sent["authorization"] == f"Bearer {access}"

    # the session works: who am I, my profile, and a CSRF-checked POST
    user_id = await browser.user_id()
    assert isinstance(user_id, int)
    user = User(http, server, None)
    user.cookies = {k: browser.cookies[k] for k in ("sessionid", "csrftoken")}
    profile = await user.get("/api/profile/GetProfile", params={"user_id": str(user_id)})
    assert profile["response"]["display_name"] == display_name
    assert profile["response"]["karma"] == 0 and profile["response"]["confirmed"] is False
    assert await user.post("/api/profile/UpdateProfileInfo", {"bio": "hello"}) == OK

    # signing in again is the same user, in a new session; the provider's name does not
    # overwrite the one the user chose
    assert await user.post("/api/profile/UpdateProfileInfo", {"display_name": "Chosen"}) == OK
    again = Browser(http, server)
    await again.sign_in(provider, name, info)
    assert await again.user_id() == user_id
    assert again.cookies["sessionid"] != browser.cookies["sessionid"]
    profile = await user.get("/api/profile/GetProfile", params={"user_id": str(user_id)})
    assert profile["response"]["display_name"] == "Chosen"


@pytest_twisted.ensureDeferred
async def test_session_cookies_are_set_as_by_the_password_login(start, provider, http):
    server = await start()
    signup = await http.post(server.url + "/accounts/signup/", json_body={"username": "ann", "password": "pw-1"})
    browser = Browser(http, server)
    _, query = await browser.start("google")
    r = await browser.callback("google", code=provider.grant("google", {"sub": "1", "name": "A"}),
                               state=query["state"])

    def attributes(response):
        out = {}
        for raw in response.headers.getRawHeaders("set-cookie"):
            name, _, rest = raw.partition("=")
            if name in ("sessionid", "csrftoken"):
                out[name] = sorted(p.strip() for p in rest.split(";")[1:])
        return out

    assert attributes(r) == attributes(signup) and set(attributes(r)) == {"sessionid", "csrftoken"}
    assert "HttpOnly" in attributes(r)["sessionid"]


# -- refusals ---------------------------------------------------------------------------------

def no_session(response) -> bool:
    return not {"sessionid", "csrftoken"} & set(cookies_of(response))


@pytest_twisted.ensureDeferred
async def test_wrong_reused_and_foreign_states_are_refused(start, provider, http):
    server = await start()
    me = Browser(http, server)
    info = {"id": 7, "login": "seven", "name": "Seven"}

    # no state, a state nobody made
    _, query = await me.start("github")
    for params in ({"code": provider.grant("github", info)},
                   {"code": provider.grant("github", info), "state": query["state"] + "x"}):
        r = await me.callback("github", **params)
        assert (r.code, r.json) == (200, err3("Invalid sign-in state") if "state" not in params
                                    else err3("Invalid or expired sign-in state")) and no_session(r)
    assert provider.token_requests == []  # no code went to the provider

    # used once, then reused
    r = await me.callback("github", code=provider.grant("github", info), state=query["state"])
    assert r.code == 302
    r = await me.callback("github", code=provider.grant("github", info), state=query["state"])
    assert (r.code, r.json) == (200, err3("Invalid or expired sign-in state")) and no_session(r)

    # a state started by another browser: refused there, and spent
    _, query = await me.start("github")
    other = Browser(http, server)
    await other.start("github")  # it has a browser cookie of its own
    for stranger in (other, Browser(http, server)):  # ... or none at all
        _, fresh = await me.start("github")
        r = await stranger.callback("github", code=provider.grant("github", info), state=fresh["state"])
        assert (r.code, r.json) == (200, err3("The sign-in was started in another browser")) and no_session(r)
        r = await me.callback("github", code=provider.grant("github", info), state=fresh["state"])
        assert r.json == err3("Invalid or expired sign-in state")
    assert await other.user_id() is None

    # a state made for another provider
    r = await me.callback("vk", code=provider.grant("vk", vk_info()), state=query["state"])
    assert (r.code, r.json) == (200, err3("Invalid sign-in state")) and no_session(r)


@pytest_twisted.ensureDeferred
async def test_provider_error_and_refused_code(start, provider, http):
    server = await start()
    me = Browser(http, server)
    for name in PROVIDERS:
        # the user said no at the provider: it sends the browser back with an error
        _, query = await me.start(name)
        r = await me.callback(name, error="access_denied", error_description="The user denied", state=query["state"])
        assert (r.code, r.json) == (200, err3(f"{name} refused the sign-in")) and no_session(r)
        r = await me.callback(name, code=provider.grant(name, {}), state=query["state"])  # spent
        assert r.json == err3("Invalid or expired sign-in state")
        # a code the provider refuses, each in its own way (GitHub: 200 with an error)
        _, query = await me.start(name)
        r = await me.callback(name, code="forged", state=query["state"])
        assert (r.code, r.json) == (200, err3(f"{name} refused the authorization code")) and no_session(r)
        # no code at all
        _, query = await me.start(name)
        r = await me.callback(name, state=query["state"])
        assert r.json == err3(f"{name} sent no authorization code") and no_session(r)
    assert [p for p, _ in provider.token_requests] == list(PROVIDERS)
    assert provider.userinfo_requests == []
    assert await me.user_id() is None


@pytest_twisted.ensureDeferred
async def test_unreadable_provider_user_is_refused(start, provider, http):
    server = await start()
    me = Browser(http, server)
    cases = [
        ("vk", vk_info(5), {"user_id": 6}),  # the token and users.get disagree
        ("vk", {"error": {"error_code": 5}}, None),
        ("google", {"name": "no sub"}, None),
        ("github", ["not", "an", "object"], None),
        ("github", {"id": "x" * 65, "login": "long"}, None),
    ]
    for name, info, extra in cases:
        _, query = await me.start(name)
        r = await me.callback(name, code=provider.grant(name, info, extra), state=query["state"])
        assert (r.code, r.json) == (200, err3(f"The {name} user could not be read")) and no_session(r)
    assert await me.user_id() is None


@pytest_twisted.ensureDeferred
async def test_a_silent_token_endpoint_times_out(start, provider, http, clock):
    from meetsrv.core.accounts.oauth import PROVIDER_TIMEOUT, STATE_LIFE

    server = await start(clock=clock)
    me = Browser(http, server)
    _, query = await me.start("vk")
    answer = defer.ensureDeferred(me.callback("vk", code="hang", state=query["state"]))
    hanging = await provider.hung.get()  # the server is waiting for the provider
    given_up = hanging.notifyFinish()
    clock.advance(PROVIDER_TIMEOUT - 0.5)
    assert not answer.called
    clock.advance(0.5)
    r = await answer
    assert (r.code, r.json) == (200, err3("vk did not answer")) and no_session(r)
    with pytest.raises((ConnectionDone, ConnectionLost)):  # the server gave the connection up
        await given_up

    # a state lives STATE_LIFE seconds
    _, query = await me.start("vk")
    clock.advance(STATE_LIFE + 1)
    r = await me.callback("vk", code=provider.grant("vk", vk_info()), state=query["state"])
    assert r.json == err3("Invalid or expired sign-in state") and no_session(r)


@pytest_twisted.ensureDeferred
async def test_unconfigured_and_unknown_providers(start, provider, http):
    server = await start(providers=("vk",))
    me = Browser(http, server)
    for name in ("google", "github"):
        r = await me.get(f"/accounts/{name}/login/")
        assert (r.code, r.json) == (200, err3(f"Sign-in with {name} is not configured"))
        assert not cookies_of(r)
        r = await me.callback(name, code="c", state="s")
        assert (r.code, r.json) == (200, err3(f"Sign-in with {name} is not configured")) and no_session(r)
    # configured in one place only: a vk state does not open google
    _, query = await me.start("vk")
    r = await me.callback("google", code="c", state=query["state"])
    assert r.json == err3("Sign-in with google is not configured")
    r = await me.get("/accounts/facebook/login/")
    assert (r.code, r.json["error"]) == (404, 5)
    # only a GET starts or finishes a sign-in
    r = await http.post(server.url + "/accounts/vk/login/", json_body={})
    assert (r.code, r.json) == (200, err3("Method not allowed"))


@pytest_twisted.ensureDeferred
async def test_next_is_kept_when_it_is_a_local_path(start, provider, http):
    server = await start()
    info = {"sub": "42", "name": "N"}
    for asked, landed in (
        ("/events/42?tab=mine", "/events/42?tab=mine"),
        ("/profile/", "/profile/"),
        ("https://evil.example/steal", "/"),  # another site: ignored, never followed
        ("//evil.example/steal", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
    ):
        r = await Browser(http, server).sign_in(provider, "google", info, next_path=asked)
        assert r.header("location") == landed, asked


# -- one user on both doors -------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_vk_user_is_one_user_on_the_campus_and_social_doors(start, provider, http):
    server = await start()
    # social first, then campus
    token, social_id = await social_login(http, server, 112002, token="vk-token-112002")
    campus = Browser(http, server)
    await campus.sign_in(provider, "vk", vk_info(112002))
    assert await campus.user_id() == social_id
    # the name given at the social door stays
    r = await http.get(server.url + "/api/profile/GetProfile", params={"user_id": str(social_id)},
                       headers=campus.headers())
    assert r.json["response"]["display_name"] == "Ilia228"
    # campus first, then social
    later = Browser(http, server)
    await later.sign_in(provider, "vk", vk_info(500, "Анна", "Иванова"), token_extra={"user_id": 500})
    campus_id = await later.user_id()
    assert campus_id != social_id
    token2, social_id2 = await social_login(http, server, 500, first_name="ignored", token="vk-token-500")
    assert social_id2 == campus_id
    r = await http.get(server.url + "/user-detail/", headers={"Authorization": f"Token {token2}"})
    assert r.json["first_name"] == "Анна Иванова"
    # another provider's id 500 is somebody else
    github = Browser(http, server)
    await github.sign_in(provider, "github", {"id": 500, "login": "five"})
    assert await github.user_id() not in (campus_id, social_id)
    # the staff pages tell which door each account came from
    assert (await server.services.staff.user(social_id))["door"] == "social"
    assert (await server.services.staff.user(campus_id))["door"] == "campus"


@pytest_twisted.ensureDeferred
async def test_a_deactivated_user_cannot_sign_in_with_a_provider(start, provider, http):
    server = await start()
    browser = Browser(http, server)
    await browser.sign_in(provider, "github", {"id": 77, "login": "seven"})
    user_id = await browser.user_id()
    staff_id = await server.services.directory_accounts.ensure_staff("boss@example.com", "staff-pass-1")
    await server.services.staff.set_active(await server.services.accounts.get(staff_id), user_id, False)
    # the session it had has ended, and a new sign-in is refused in the door's envelope
    r = await browser.get("/api/auth/GetCurrentUserId")
    assert r.json["response"]["user_id"] is None
    again = Browser(http, server)
    _, query = await again.start("github")
    r = await again.callback("github", code=provider.grant("github", {"id": 77, "login": "seven"}),
                             state=query["state"])
    assert r.code == 200 and r.json == {"error": 3, "error_msg": "User inactive or deleted."}, r
    assert not again.cookies.get("sessionid")


# -- configuration ----------------------------------------------------------------------------

def test_providers_are_configured_from_the_environment():
    from meetsrv.config import build_settings

    settings = build_settings({}, {
        "MEETSRV_OAUTH_VK_CLIENT_ID": "5123", "MEETSRV_OAUTH_VK_CLIENT_SECRET": "vk-s",
        "MEETSRV_OAUTH_GITHUB_CLIENT_ID": "gh", "MEETSRV_OAUTH_GITHUB_CLIENT_SECRET": "gh-s",
        "MEETSRV_OAUTH_GITHUB_AUTHORIZE_URL": "https://ghe.example/login/oauth/authorize",
        "MEETSRV_OAUTH_GITHUB_TOKEN_URL": "http://127.0.0.1:9/token",
        "MEETSRV_OAUTH_GITHUB_USERINFO_URL": "https://ghe.example/api/v3/user",
        "MEETSRV_OAUTH_GOOGLE_CLIENT_ID": "",  # empty is unset
    })
    assert settings.oauth_apps == (
        OAuthApp("vk", "5123", "vk-s"),
        OAuthApp("github", "gh", "gh-s", "https://ghe.example/login/oauth/authorize", "http://127.0.0.1:9/token",
                 "https://ghe.example/api/v3/user"),
    )
    assert build_settings({}, {}).oauth_apps == ()

    # the real endpoints stand where none is given
    from meetsrv.core.accounts.oauth import OAuthSignIn

    signin = OAuthSignIn(settings.oauth_apps, None, None, None, None)
    assert signin.configured("vk").token_url == "https://oauth.vk.com/access_token"
    assert signin.configured("github").token_url == "http://127.0.0.1:9/token"


@pytest.mark.parametrize("environ,message", [
    ({"MEETSRV_OAUTH_VK_CLIENT_ID": "1"}, "MEETSRV_OAUTH_VK_CLIENT_SECRET are both needed"),
    ({"MEETSRV_OAUTH_GOOGLE_CLIENT_SECRET": "s"}, "MEETSRV_OAUTH_GOOGLE_CLIENT_ID and"),
    ({"MEETSRV_OAUTH_GOOGLE_CLIENT_ID": "1", "MEETSRV_OAUTH_GOOGLE_CLIENT_SECRET": "s",
      "MEETSRV_OAUTH_GOOGLE_TOKEN_URL": "http://tokens.example/token"}, "MEETSRV_OAUTH_GOOGLE_TOKEN_URL"),
    ({"MEETSRV_OAUTH_GOOGLE_CLIENT_ID": "1", "MEETSRV_OAUTH_GOOGLE_CLIENT_SECRET": "s",
      "MEETSRV_OAUTH_GOOGLE_AUTHORIZE_URL": "http://127.0.0.1/auth"}, "MEETSRV_OAUTH_GOOGLE_AUTHORIZE_URL"),
    ({"MEETSRV_OAUTH_VK_CLIENT_ID": "1", "MEETSRV_OAUTH_VK_CLIENT_SECRET": "s",
      "MEETSRV_OAUTH_VK_USERINFO_URL": "ftp://x/"}, "MEETSRV_OAUTH_VK_USERINFO_URL"),
])
def test_bad_provider_configuration_stops_the_start(environ, message):
    from meetsrv.config import ConfigError, build_settings

    with pytest.raises(ConfigError, match=message):
        build_settings({}, environ)

"""The campus door's routes: /accounts/... sessions and the /api/<area>/<Method> RPCs.

Every answer is HTTP 200 with the envelope. Checks run in upstream's order: CSRF (Django's
middleware, on cookie-authenticated POSTs), content type, argument types, required arguments,
method, login; then the method's own rules.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
from urllib.parse import urlsplit

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from meetsrv.core.accounts.limiter import LoginLimited
from meetsrv.core.accounts.oauth import STATE_LIFE
from meetsrv.core.errors import AlreadyExists, DomainError, Invalid, NotPermitted, UserNotFound, WrongCredentials
from meetsrv.core.media import BadImage
from meetsrv.core.meetings.campus import EventNotFound
from meetsrv.doors.base import Door, door_app
from meetsrv.doors.campus import answers, models, shapes
from meetsrv.doors.campus.marking import MarkingSocket, MarkMeSocket
from meetsrv.doors.campus.shapes import (
    INVALID_ARGUMENT,
    MISSING_ARGUMENT,
    NOT_FOUND,
    NOT_PERMITTED,
    UNKNOWN_ERROR,
    UNSUPPORTED_MEDIA_TYPE,
)
from meetsrv.http.at_once import settle
from meetsrv.http.body import (
    BodyError,
    UnsupportedMediaType,
    Upload,
    content_type,
    parse_form,
    parse_json,
    parse_multipart,
    raw_body,
)
from meetsrv.http.credentials import (
    SAFE_METHODS,
    CredentialMissing,
    CredentialRefused,
    CsrfCheck,
    CsrfRefused,
    SessionCookie,
    TokenHeader,
    authenticate,
    read,
)
from meetsrv.http.idempotency import idempotent
from meetsrv.http.models import RequestInvalid, id_value, parse
from meetsrv.http.outage import is_outage
from meetsrv.openapi import Api, WebSocket, operation
from meetsrv.ws.factory import make_factory, websocket_resource

log = Logger()

SESSION_KIND = "campus"
# a campus session, or a token issued by the social or phone door
TOKEN_KINDS = (SESSION_KIND, "social", "phone")
SESSION_COOKIE = b"sessionid"
CSRF_COOKIE = b"csrftoken"
SESSION_TTL = 14 * 24 * 3600  # Django's default session age
MAX_USERNAME = 150
MAX_PASSWORD = 1024
# a secret of the browser that starts an OAuth sign-in; its state is bound to it (allauth kept
# the state in the session)
OAUTH_BROWSER_COOKIE = b"oauthbrowser"
_OAUTH_BROWSER = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
MAX_NEXT = 2048


def local_next(value: str | None) -> str:
    """`next` as allauth kept it: a path on this site. Anything else (another site, `//host`,
    a scheme, a backslash that browsers read as a slash, control characters) is ignored for `/`."""
    if not value or len(value) > MAX_NEXT or not value.startswith("/"):
        return "/"
    if any(not 33 <= ord(c) <= 126 or c == "\\" for c in value) or value.startswith("//"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def query_arg(request, name: bytes) -> str | None:
    values = request.args.get(name)
    if not values:
        return None
    try:
        return values[-1].decode("utf-8")
    except UnicodeDecodeError:
        return None


# -- arguments: doors/campus/models.py -----------------------------------------------------

def user_id_arg(value) -> int:
    """A user id as GetProfile read it: anything that is not an id (past the id column too) is
    an unknown profile."""
    user_id = id_value(value.strip() if isinstance(value, str) else value)
    if user_id is None:
        raise UserNotFound("User profile does not exist")
    return user_id


_DATA_URL = re.compile(r"^data:[\w/+.-]*;base64,", re.I)


def decode_image(reactor, value):
    """image_bytes(value); large base64 text is decoded on a thread."""
    if isinstance(value, str) and len(value) > 64 * 1024:
        return deferToThreadPool(reactor, reactor.getThreadPool(), image_bytes, value)
    return defer.succeed(image_bytes(value))


def image_bytes(value) -> bytes:
    """A multipart file, or base64 text (a data: URL prefix is accepted)."""
    if isinstance(value, Upload):
        return value.data
    if not isinstance(value, str):
        raise Invalid("Invalid image")
    text = _DATA_URL.sub("", value.strip(), count=1)
    text = "".join(text.split())
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("Invalid image")


def _last(value):
    return value[-1] if isinstance(value, list) and value else value


def endpoint(method: str, arguments: type[models.Arguments] = models.NoArguments, login: bool = True,
             content: bool = True, *, summary: str, answer=None):
    """Route body: fn(self, request, caller, params) returning the `response` value (or None),
    or an answer of its own (bytes); `params` is the `arguments` model. `summary` and `answer`
    (the type of the response value) describe it in the door's OpenAPI document."""
    reads = arguments if arguments.model_fields else None
    in_body = method == "POST" and content

    def wrap(fn):
        @functools.wraps(fn)
        def route(self, request):
            # the answer at once when nothing it awaits has to wait (a cached session, a kept read)
            return settle(self.run(request, fn, method.encode(), arguments, login, content))

        return operation(summary, {200: answers.envelope(answer)}, method=method,
                         body=reads if in_body else None, query=None if in_body else reads,
                         auth=True if login else "optional")(route)

    return wrap


class CampusDoor(Door):
    name = "campus"
    app = door_app()
    path_prefixes = ("/api/auth/", "/api/profile/", "/api/friends/", "/accounts/")
    multipart_routes = frozenset({"POST /api/profile/UpdateProfilePicture",
                                  "POST /api/profile/UploadProfileConfirmation"})
    api = Api(
        title="meetsrv: campus",
        description="The campus app (seed 001): sessions under /accounts/ and RPC methods under "
                    "/api/{area}/{Method}, GET with query parameters, POST with a JSON, form or "
                    "multipart body. Every answer is HTTP 200 with the envelope {\"error\": code, "
                    "\"error_msg\": text, \"response\": value}: error 0 is success; a method called "
                    "with another HTTP method answers error 3. The credential is the session cookie "
                    "(POSTs also send the csrftoken cookie's value as X-CSRFToken), or "
                    "`Authorization: Token <key>` with a campus session or a social or phone token.",
        schemes={
            "token": {"type": "apiKey", "in": "header", "name": "Authorization",
                      "description": "`Token <key>`: a campus session, or a token of the social or phone door."},
            "session": {"type": "apiKey", "in": "cookie", "name": "sessionid",
                        "description": "Set by /accounts/signup/ and /accounts/login/."},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                     "description": "The csrftoken cookie's value (Django's CSRF check), for POSTs with the session cookie."},
        },
        requirement=[{"token": []}, {"session": []}],
        unsafe_requirement=[{"token": []}, {"session": [], "csrf": []}],
        error=answers.Failed,
        tags=(("/accounts/", "accounts"), ("/api/auth/", "accounts"), ("/api/profile/", "profile"),
              ("/api/friends/", "friends"), ("/api/events/", "events"), ("/ws/", "marking")),
    )

    def __init__(self, services):
        super().__init__(services)
        s = services
        self.mark_me_factory = make_factory(self.settings, MarkMeSocket, door=self, hub=s.hub, clock=s.clock)
        self.marking_factory = make_factory(self.settings, MarkingSocket, door=self, hub=s.hub, clock=s.clock)

    # -- credentials -------------------------------------------------------------------------
    # a Token of this door, the social or the phone door; else the session cookie (then unsafe
    # methods need Django's CSRF token)
    credentials = (TokenHeader(strict=False), SessionCookie(
        SESSION_COOKIE.decode(), CsrfCheck(CSRF_COOKIE.decode(), "x-csrftoken")))

    def check(self, credential):
        kinds = (SESSION_KIND,) if credential.source == "cookie" else TOKEN_KINDS
        # the user id at once when the credential is cached, else a Deferred
        return self.services.credentials.user_of(credential.token, kinds)

    def caller(self, request):
        """The user id, or None (http/idempotency.py asks this)."""
        return self.identify(request)

    async def identify(self, request):
        """The user id, or None for a caller without a valid credential."""
        try:
            return await authenticate(request, self.credentials, self.check, required=False)
        except CredentialRefused:
            return None

    # -- the pipeline ------------------------------------------------------------------------
    def params(self, request, content: bool) -> dict:
        if request.method != b"POST" or not content:
            out = {}
            for key, values in request.args.items():
                try:
                    out[key.decode("utf-8")] = values[-1].decode("utf-8")
                except UnicodeDecodeError:
                    raise BodyError("Invalid query string")
            return out
        kind = content_type(request)
        raw = raw_body(request)
        if not kind and not raw.strip():
            return {}
        if kind == "application/json" or kind.endswith("+json"):
            if not raw.strip():
                return {}
            try:
                value = parse_json(raw)
            except BodyError:
                raise BodyError("Invalid JSON")
            if not isinstance(value, dict):
                raise BodyError("A JSON object expected")
            return value
        if kind == "application/x-www-form-urlencoded":
            try:
                return dict(parse_form(request, raw.decode("utf-8")))
            except (UnicodeDecodeError, BodyError):
                raise BodyError("Invalid form")
        if kind == "multipart/form-data":
            try:
                fields, files = parse_multipart(request)
            except BodyError:
                raise BodyError("Invalid multipart body")
            out = {k: _last(v) for k, v in fields.items()}
            for name, upload in files.items():
                out[name] = upload
            image = files.get("image")
            if image is not None and "name" not in out and image.filename:
                out["name"] = image.filename
            return out
        raise UnsupportedMediaType(kind, "")

    async def run(self, request, fn, method: bytes, arguments, login: bool, content: bool):
        caller = await self.identify(request)
        params = parse(arguments, self.params(request, content))
        if request.method != method and not (method == b"GET" and request.method == b"HEAD"):
            raise MethodNotAllowed()
        if login and caller is None:
            raise CredentialMissing()
        response = await defer.ensureDeferred(fn(self, request, caller, params))
        if isinstance(response, bytes):
            return response
        return shapes.envelope(request, response=response)

    # -- errors: one handler, every answer HTTP 200 with the envelope ---------------------------
    @app.handle_errors(Exception)
    def _error(self, request, failure):
        e = failure.value
        if is_outage(e):
            return self.unavailable(request)
        code, message = self.error_code(e)
        if code == UNKNOWN_ERROR and not isinstance(e, DomainError):
            log.failure("campus request failed", failure)
        return shapes.envelope(request, code, message)

    @staticmethod
    def error_code(e) -> tuple[int, str]:
        if isinstance(e, RequestInvalid):
            wrong = next((p for p in e.problems if p.code != "missing"), None)
            if wrong is not None:
                return INVALID_ARGUMENT, wrong.message  # a cast refused it: checked before presence
            missing = e.first().field
            if e.model is not None and e.model.missing_is_invalid:
                return INVALID_ARGUMENT, f"{missing} is required"
            return MISSING_ARGUMENT, missing
        if isinstance(e, CsrfRefused):
            return NOT_PERMITTED, "CSRF verification failed"
        if isinstance(e, CredentialMissing):
            return NOT_PERMITTED, "Login required"
        if isinstance(e, MethodNotAllowed):
            return NOT_PERMITTED, "Method not allowed"
        if isinstance(e, UnsupportedMediaType):
            return UNSUPPORTED_MEDIA_TYPE, "json content expected"
        if isinstance(e, BodyError):
            return INVALID_ARGUMENT, str(e)
        if isinstance(e, AlreadyExists):
            return UNKNOWN_ERROR, e.message  # upstream: a duplicate event name is "Could not create new event"
        if isinstance(e, NotPermitted):
            return NOT_PERMITTED, e.message
        if isinstance(e, DomainError):
            return INVALID_ARGUMENT, e.message  # upstream answers 1 for an unknown user or event
        if isinstance(e, HTTPException) and e.code == 404:
            return NOT_FOUND, "Not found"
        return UNKNOWN_ERROR, "Unknown error"

    def not_found(self, request):
        return shapes.envelope(request, NOT_FOUND, "Not found", status=404)

    def method_not_allowed(self, request):
        return shapes.envelope(request, NOT_PERMITTED, "Method not allowed", status=405)

    def unsupported_media_type(self, request):
        return shapes.envelope(request, UNSUPPORTED_MEDIA_TYPE, "json content expected")

    def upgrade_required(self, request):
        return shapes.envelope(request, NOT_PERMITTED, "WebSocket upgrade required", status=426)

    def problem(self, request, status, code, text):
        # a client's mistake is HTTP 200 with the envelope, as every answer of this door; an
        # outage keeps its status (clients and proxies retry on it)
        if status >= 500:
            return shapes.envelope(request, UNKNOWN_ERROR, text, status=status)
        return shapes.envelope(request, INVALID_ARGUMENT, text)

    # -- accounts ----------------------------------------------------------------------------
    def _credentials(self, params) -> tuple[str, str]:
        username, password = params.username, params.password
        if not username.strip() or len(username) > MAX_USERNAME or any(ord(c) < 32 for c in username):
            raise Invalid("Invalid username")
        if not password or len(password) > MAX_PASSWORD:
            raise Invalid("Invalid password")
        return username, password

    async def start_session(self, request, user_id: int):
        token = await self.services.credentials.issue(user_id, SESSION_KIND, ttl=SESSION_TTL)
        secure = (self.services.base_url or "").startswith("https://")
        request.addCookie(SESSION_COOKIE, token.encode(), path=b"/", max_age=str(SESSION_TTL).encode(),
                          httpOnly=True, sameSite="lax", secure=secure or None)
        csrf = secrets.token_urlsafe(32).encode()  # a new one at each sign-in, as Django rotates it
        request.addCookie(CSRF_COOKIE, csrf, path=b"/", max_age=str(365 * 24 * 3600).encode(),
                          sameSite="lax", secure=secure or None)

    @app.route("/accounts/signup/", strict_slashes=False)
    @endpoint("POST", models.Credentials, login=False, summary="Sign up: the session and CSRF cookies are set")
    async def signup(self, request, caller, params):
        username, password = self._credentials(params)
        try:
            user_id = await self.services.accounts.register(username, password, door="campus")
        except AlreadyExists:
            raise Invalid("Username is already taken")
        await self.start_session(request, user_id)

    @app.route("/accounts/login/", strict_slashes=False)
    @endpoint("POST", models.Credentials, login=False, summary="Sign in: the session and CSRF cookies are set")
    async def login(self, request, caller, params):
        username, password = self._credentials(params)
        try:
            user = await self.services.accounts.password_login.check(username, password)
        except LoginLimited:
            raise NotPermitted("Too many failed logins, try again later")
        except (UserNotFound, WrongCredentials):
            raise NotPermitted("Wrong username or password")
        await self.start_session(request, user.id)

    @app.route("/accounts/logout/", strict_slashes=False)
    @endpoint("POST", models.AccountsCall, login=False,
              summary="Sign out: the session ends and its cookie is cleared")
    async def logout(self, request, caller, params):
        credential = read(request, self.credentials)
        token = credential.token if credential is not None else None
        if credential is None or credential.source == "cookie":
            request.addCookie(SESSION_COOKIE, b"", path=b"/", max_age=b"0",
                              expires=b"Thu, 01 Jan 1970 00:00:00 GMT", httpOnly=True, sameSite="lax")
        # only a campus session ends here; a social or phone token belongs to its own door
        if token and caller is not None:
            if (await self.services.credentials.authenticate(token, (SESSION_KIND,))) is not None:
                await self.services.credentials.revoke(token)

    # -- sign-in with OAuth providers (django-allauth's social login; CONTRACT.md) -------------
    def oauth_callback_url(self, provider: str) -> str:
        return f"{self.services.base_url}/accounts/{provider}/login/callback/"

    @app.route("/accounts/<provider>/login/", strict_slashes=False)
    @operation("Sign in with an OAuth provider (vk, google, github, as configured): a redirect to it",
               {302: None, 200: answers.Failed, 404: answers.Failed}, method="GET", auth=False,
               query=models.OAuthStart, headers={302: {"Location": "The provider's authorization URL."}})
    def oauth_login(self, request, provider):
        return defer.ensureDeferred(self._oauth_login(request, provider))

    async def _oauth_login(self, request, provider: str):
        """302 to the provider's authorization URL, with a one-time state bound to this browser."""
        if not self.services.oauth.known(provider):
            return self.not_found(request)
        if request.method not in SAFE_METHODS:
            return shapes.envelope(request, NOT_PERMITTED, "Method not allowed")
        browser = (request.getCookie(OAUTH_BROWSER_COOKIE) or b"").decode("latin-1")
        if not _OAUTH_BROWSER.match(browser):
            browser = secrets.token_urlsafe(32)
        try:
            url = await self.services.oauth.begin(provider, browser, local_next(query_arg(request, b"next")),
                                                  self.oauth_callback_url(provider))
        except DomainError as e:
            return shapes.envelope(request, NOT_PERMITTED, e.message)
        except Exception:
            log.failure("campus OAuth sign-in could not start")
            return shapes.envelope(request, UNKNOWN_ERROR, "Unknown error")
        secure = (self.services.base_url or "").startswith("https://")
        # Lax: sent on the provider's top-level redirect back to the callback
        request.addCookie(OAUTH_BROWSER_COOKIE, browser.encode(), path=b"/accounts/",
                          max_age=str(int(STATE_LIFE)).encode(), httpOnly=True, sameSite="lax",
                          secure=secure or None)
        request.redirect(url.encode("utf-8"))
        return b""

    @app.route("/accounts/<provider>/login/callback/", strict_slashes=False)
    @operation("Where the provider sends the browser back: the session cookies are set, and a redirect "
               "to the sign-in's `next`", {302: None, 200: answers.Failed, 404: answers.Failed}, method="GET",
               auth=False, query=models.OAuthCallback, headers={302: {"Location": "The sign-in's `next` path."}})
    def oauth_callback(self, request, provider):
        return defer.ensureDeferred(self._oauth_callback(request, provider))

    async def _oauth_callback(self, request, provider: str):
        """The provider sends the browser back here with `code` and `state` (or `error`): sign in
        the linked user, set the session cookies and 302 to the `next` kept at the start."""
        if not self.services.oauth.known(provider):
            return self.not_found(request)
        if request.method not in SAFE_METHODS:
            return shapes.envelope(request, NOT_PERMITTED, "Method not allowed")
        browser = request.getCookie(OAUTH_BROWSER_COOKIE)
        try:
            user_id, next_path = await self.services.oauth.finish(
                provider, browser.decode("latin-1") if browser else None, query_arg(request, b"state"),
                query_arg(request, b"code"), query_arg(request, b"error"), self.oauth_callback_url(provider),
            )
            await self.start_session(request, user_id)
        except DomainError as e:
            return shapes.envelope(request, NOT_PERMITTED, e.message)
        except Exception:
            log.failure("campus OAuth sign-in failed")
            return shapes.envelope(request, UNKNOWN_ERROR, "Unknown error")
        request.redirect(local_next(next_path).encode("ascii"))
        return b""

    @app.route("/api/auth/GetCurrentUserId")
    @endpoint("GET", login=False, summary="The signed-in user's id", answer=answers.CurrentUser)
    async def current_user(self, request, caller, params):
        return {"user_id": caller}

    # -- profile -----------------------------------------------------------------------------
    @app.route("/api/profile/GetProfile")
    @endpoint("GET", models.UserId, summary="A user's profile", answer=answers.Profile)
    async def get_profile(self, request, caller, params):
        user = self.services.profiles.get(user_id_arg(params.user_id))
        if isinstance(user, defer.Deferred):
            user = await user
        return shapes.profile(user, self.services.base_url)

    @app.route("/api/profile/UpdateProfilePicture")
    @endpoint("POST", models.Picture, summary="Set the user's picture")
    async def update_picture(self, request, caller, params):
        data = await decode_image(self.services.reactor, params.image)
        try:
            await self.services.profiles.set_picture(caller, data)
        except BadImage:
            raise Invalid("Invalid image")

    @app.route("/api/profile/UploadProfileConfirmation")
    @endpoint("POST", models.Confirmation, summary="Upload a picture that confirms the user is a student")
    async def upload_confirmation(self, request, caller, params):
        data = await decode_image(self.services.reactor, params.image)
        try:
            await self.services.profiles.upload_confirmation(caller, data)
        except BadImage:
            raise Invalid("Invalid image")

    @app.route("/api/profile/UpdateProfileInfo")
    @endpoint("POST", models.ProfileInfo, summary="Change the user's display name or bio")
    async def update_info(self, request, caller, params):
        name, bio = params.display_name, params.bio
        if name is None and bio is None:
            return shapes.envelope(request, MISSING_ARGUMENT, "Bio or name are required")
        await self.services.profiles.update_info(caller, name, bio)

    @app.route("/api/profile/FindByName")
    @endpoint("GET", models.NamePart, login=False, summary="Users whose display name holds the text",
              answer=answers.Users)
    async def find_by_name(self, request, caller, params):
        rows = await self.services.profiles.find_by_name(params.display_name_part)
        return {"users": [shapes.user_item(r) for r in rows]}

    # -- friends -----------------------------------------------------------------------------
    @app.route("/api/friends/GetFriendList")
    @endpoint("GET", summary="The user's friends and the friend requests the user sent", answer=answers.Friends)
    async def friend_list(self, request, caller, params):
        rows = await self.services.friends.friends(caller)
        return {"friends": [dict(shapes.user_item(r), pending=not r["accepted"]) for r in rows]}

    @app.route("/api/friends/SendFriendRequest")
    @endpoint("POST", models.UserId, summary="Ask a user to be friends (or accept their request)")
    async def send_friend_request(self, request, caller, params):
        await self.services.friends.send_request(caller, user_id_arg(params.user_id))

    @app.route("/api/friends/GetFriendRequests")
    @endpoint("GET", summary="The users who ask to be the user's friends", answer=answers.FriendRequests)
    async def friend_requests(self, request, caller, params):
        return {"requests": await self.services.friends.requests(caller)}

    @app.route("/api/friends/RemoveFriend")
    @endpoint("POST", models.UserId, summary="Remove a friend, or a friend request")
    async def remove_friend(self, request, caller, params):
        await self.services.friends.remove(caller, user_id_arg(params.user_id))

    # -- events ------------------------------------------------------------------------------
    @app.route("/api/events/CreateEvent")
    @idempotent
    @endpoint("POST", models.NewEvent, summary="Create an event", answer=answers.EventCreated)
    async def create_event(self, request, caller, params):
        event_id = await self.services.campus_events.create(
            caller, params.name, params.time_from, params.time_to
        )
        return {"event_id": event_id}

    @app.route("/api/events/GetEventByID")
    @endpoint("GET", models.EventId, login=False, summary="An event", answer=answers.Event)
    async def get_event(self, request, caller, params):
        try:
            view = await self.services.campus_events.get(params.event_id)
        except EventNotFound as e:
            return shapes.envelope(request, NOT_FOUND, e.message)
        return shapes.event(view)

    @app.route("/api/events/GetEvents")
    @endpoint("GET", models.EventName, login=False, content=False, summary="Events whose name holds the text",
              answer=list[answers.Event])
    async def get_events(self, request, caller, params):
        views = await self.services.campus_events.search(params.name)
        return [shapes.event(v) for v in views]

    @app.route("/api/events/JoinEvent")
    @endpoint("POST", models.EventId, summary="Join an event")
    async def join_event(self, request, caller, params):
        await self.services.campus_events.join(caller, params.event_id)

    @app.route("/api/events/LeaveEvent")
    @endpoint("POST", models.EventId, summary="Leave an event")
    async def leave_event(self, request, caller, params):
        await self.services.campus_events.leave(caller, params.event_id)

    @app.route("/api/events/DeleteEvent")
    @endpoint("POST", models.EventId, summary="Delete an event of the user's")
    async def delete_event(self, request, caller, params):
        await self.services.campus_events.delete(caller, params.event_id)

    @app.route("/api/events/GetCreatedEvents")
    @endpoint("GET", summary="The events the user created", answer=list[answers.CreatedEvent])
    async def created_events(self, request, caller, params):
        return [shapes.created_event(v) for v in await self.services.campus_events.created(caller)]

    @app.route("/api/events/GetJoinedEvents")
    @endpoint("GET", summary="The events the user joined", answer=list[answers.JoinedEvent])
    async def joined_events(self, request, caller, params):
        return [shapes.joined_event(v, caller) for v in await self.services.campus_events.joined(caller)]

    # -- marking sockets ---------------------------------------------------------------------
    @app.route("/ws/mark_me", strict_slashes=False)
    @operation("Wait to be marked at a running event (WebSocket): was_marked, then the socket closes", {},
               websocket=WebSocket(receives={"description": "Nothing is read."}, sends=answers.MarkingOut,
                                   query=models.MarkingHandshake))
    def mark_me(self, request):
        return websocket_resource(self.mark_me_factory)

    @app.route("/ws/marking", strict_slashes=False)
    @operation("Mark others at a running event (WebSocket): the marking list, its changes, and the "
               "answers to prepare_to_mark, confirm_marking and refuse_to_mark", {},
               websocket=WebSocket(receives=answers.MarkingIn, sends=answers.MarkingOut,
                                   query=models.MarkingHandshake))
    def marking(self, request):
        return websocket_resource(self.marking_factory)

"""The directory door's REST routes (DRF style, JWT, limit/offset pagination)."""

from __future__ import annotations

from twisted.internet.defer import Deferred

from meetsrv.core.clock import utc_iso_micro
from meetsrv.core.errors import AlreadyExists, DomainError, Invalid, NotFound, RateLimited, WrongCredentials
from meetsrv.core.media import BadImage
from meetsrv.doors.base import Door, door_app
from meetsrv.doors.directory import answers, models, shapes
from meetsrv.doors.directory.chat import LobbySocket
from meetsrv.http.answers import KeptAnswers, json_answer
from meetsrv.http.at_once import at_once
from meetsrv.http.body import BodyError, NotAnObject, UnsupportedMediaType, fields
from meetsrv.http.credentials import BearerHeader, CredentialMissing, CredentialRefused, authenticate
from meetsrv.http.idempotency import idempotent
from meetsrv.http.models import RequestInvalid, drf_errors, parse, query
from meetsrv.openapi import Api, WebSocket, operation
from meetsrv.ws.factory import make_factory, websocket_resource

NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
BAD_TOKEN = {"detail": "Given token not valid for any token type", "code": "token_not_valid"}
BAD_REFRESH = {"detail": "Token is invalid or expired", "code": "token_not_valid"}
BAD_LOGIN = {"detail": "No active account found with the given credentials"}
NOT_FOUND = {"detail": "Not found."}
BAD_IMAGE = "Upload a valid image. The file you uploaded was either not an image or a corrupted image."


def _int_id(value) -> int:
    if not isinstance(value, int) or not 0 < value < 2**31:
        raise NotFound("Not found.")
    return value


def _body(model, request):
    body = fields(request)
    return parse(model, body.data, **body.context())


def unauthorized(request, body: dict) -> bytes:
    request.setHeader(b"www-authenticate", b'Bearer realm="api"')
    return json_answer(request, body, 401)


class DirectoryDoor(Door):
    name = "directory"
    app = door_app()
    path_prefixes = ("/api/user/", "/api/organizations/", "/api/events/", "/api/chat/", "/ws/chat")
    # the REST routes' credential: a JWT, with or without `Bearer`
    credentials = (BearerHeader(bare=True),)
    # a JWT is signed, not stored: no row says whether the one a socket was opened with is revoked
    signed_credentials = True
    api = Api(
        title="meetsrv: directory",
        description="The directory of organizations and events (seed 003): DRF-style REST with "
                    "simplejwt tokens (`Authorization: Bearer <access>`, or the token alone), "
                    "limit/offset pages, bodies as JSON or forms (multipart where a file is taken), "
                    "DRF's statuses and error bodies, and a lobby chat WebSocket. Every path answers "
                    "with or without its trailing slash.",
        schemes={"jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                         "description": "The access token of /api/user/sign-in/ (also accepted without `Bearer`)."}},
        requirement=[{"jwt": []}],
        auth_answers={401: answers.Detail},
        body_answers={400: answers.FieldErrors | answers.Detail, 415: answers.Detail},
        query_answers={400: answers.FieldErrors},
        error=answers.Detail,
        tags=(("/api/user/", "accounts"), ("/api/organizations/", "organizations"), ("/api/events/", "events"),
              ("/api/chat/", "chat"), ("/ws/", "chat")),
    )
    multipart_routes = frozenset({"POST /api/events/create/"})

    def __init__(self, services):
        super().__init__(services)
        self.ws_factory = make_factory(self.settings, LobbySocket, door=self, hub=services.hub, clock=services.clock)
        # the event detail rendered once per kept read
        self.kept_answers = KeptAnswers()

    @property
    def base_url(self) -> str:
        return self.services.base_url

    # -- credential --------------------------------------------------------------------------
    def check(self, credential) -> int | None:
        return self.services.directory_accounts.authenticate(credential.token)

    def caller(self, request):
        return authenticate(request, self.credentials, self.check)

    # -- errors: one handler, DRF's statuses and bodies ---------------------------------------
    @app.handle_errors(CredentialMissing, CredentialRefused, RequestInvalid, BodyError, DomainError)
    def _error(self, request, failure):
        e = failure.value
        if isinstance(e, CredentialMissing):
            return unauthorized(request, NO_CREDENTIALS)
        if isinstance(e, CredentialRefused):
            return unauthorized(request, BAD_TOKEN)
        if isinstance(e, WrongCredentials):
            return unauthorized(request, BAD_LOGIN)
        if isinstance(e, RequestInvalid):
            return json_answer(request, drf_errors(e), 400)
        if isinstance(e, UnsupportedMediaType):
            return json_answer(request, {"detail": f'Unsupported media type "{e.header}" in request.'}, 415)
        if isinstance(e, NotAnObject):
            return json_answer(request, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}, 400)
        if isinstance(e, BodyError):
            return json_answer(request, {"detail": f"{e}"}, 400)
        if isinstance(e, NotFound):
            return json_answer(request, NOT_FOUND, 404)
        if isinstance(e, RateLimited):
            return json_answer(request, {"detail": "Request was throttled."}, 429)
        if isinstance(e, AlreadyExists):
            field = e.details.get("field", "email")
            name = "telephone" if field == "phone" else field
            return json_answer(request, {name: [f"user with this {name} already exists."]}, 400)
        if isinstance(e, BadImage):
            return json_answer(request, {"image": [BAD_IMAGE]}, 400)
        if isinstance(e, Invalid) and "missing" in e.details:
            field = e.details.get("field", "non_field_errors")
            return json_answer(request, {field: [f'Invalid pk "{i}" - object does not exist.'
                                                 for i in e.details["missing"]]}, 400)
        return json_answer(request, {"detail": e.message}, 400)

    # -- accounts ----------------------------------------------------------------------------
    @app.route("/api/user/sign-up/", methods=["POST"], strict_slashes=False)
    @operation("Sign up with an email and a password (and a phone)", {201: answers.User}, body=models.SignUp,
               auth=False)
    async def sign_up(self, request):
        given = _body(models.SignUp, request)
        user = await self.services.directory_accounts.sign_up(given.email, given.password, given.given_phone)
        return json_answer(request, shapes.user(user), 201)

    @app.route("/api/user/sign-in/", methods=["POST"], strict_slashes=False)
    @operation("Sign in: a token pair", {200: answers.TokenPair, 401: answers.Detail, 429: answers.Detail},
               body=models.SignIn, auth=False)
    async def sign_in(self, request):
        given = _body(models.SignIn, request)
        pair = await self.services.directory_accounts.sign_in(given.email, given.password)
        return json_answer(request, pair)

    @app.route("/api/user/refresh/", methods=["POST"], strict_slashes=False)
    @operation("A new token pair for a refresh token (which is spent)", {200: answers.TokenPair, 401: answers.Detail},
               body=models.Refresh, auth=False)
    async def refresh(self, request):
        given = _body(models.Refresh, request)
        pair = await self.services.directory_accounts.refresh(given.refresh)
        if pair is None:
            return unauthorized(request, BAD_REFRESH)
        return json_answer(request, pair)

    # -- organizations -----------------------------------------------------------------------
    @app.route("/api/organizations/create/", methods=["POST"], strict_slashes=False)
    @operation("Create an organization with these users", {201: answers.Organization}, body=models.NewOrganization)
    @idempotent
    async def create_organization(self, request):
        await self.caller(request)
        given = _body(models.NewOrganization, request)
        org = await self.services.organizations.create(given.title, given.description, given.address,
                                                       given.postcode, given.users)
        return json_answer(request, shapes.organization(org), 201)

    @app.route("/api/organizations/", methods=["GET"], strict_slashes=False)
    @operation("Organizations, a page of them", {200: answers.Page[answers.Organization]}, query=models.OrganizationPage)
    async def organizations(self, request):
        await self.caller(request)
        page = parse(models.OrganizationPage, query(request))
        count, rows = await self.services.organizations.page(page.limit, page.offset, page.search)
        return shapes.paginated(request, self.base_url, count, [shapes.organization(r) for r in rows], page.limit,
                                page.offset)

    @app.route("/api/organizations/<int:org_id>/", methods=["GET"], strict_slashes=False)
    @operation("An organization", {200: answers.Organization, 404: answers.Detail})
    async def organization(self, request, org_id):
        await self.caller(request)
        org = await self.services.organizations.get(_int_id(org_id))
        return json_answer(request, shapes.organization(org))

    # -- events ------------------------------------------------------------------------------
    @app.route("/api/events/create/", methods=["POST"], strict_slashes=False)
    @operation("Create an event: it is saved a little later (see its status_url)", {202: answers.PendingEvent},
               body=models.NewEvent)
    @idempotent
    async def create_event(self, request):
        user_id = await self.caller(request)
        given = _body(models.NewEvent, request)
        if (await self.services.accounts.get(user_id)) is None:
            raise CredentialRefused()  # the account was deleted; its token has not expired yet
        day, starts_at = given.date or (None, None)
        event = {"title": given.title, "description": given.description or "", "date": day,
                 "starts_at": starts_at, "organizations": given.organizations}
        pending = await self.services.directory_events.create(user_id, event, given.image)
        return json_answer(request, {
            "id": pending["id"],
            "status": "pending",
            "detail": "The event will be saved at save_at.",
            "save_at": utc_iso_micro(pending["due_at"]),
            "status_url": f"{self.base_url}/api/events/pending/{pending['id']}/",
        }, 202)

    @app.route("/api/events/pending/<int:pending_id>/", methods=["GET"], strict_slashes=False)
    @operation("Where an event the user created stands", {200: answers.PendingStatus, 404: answers.Detail})
    async def pending_event(self, request, pending_id):
        """Where a created event stands: {"id", "status": "pending"|"saved", "event", "save_at"}.
        Only its creator sees it."""
        user_id = await self.caller(request)
        row = await self.services.directory_events.pending_event(_int_id(pending_id))
        if row is None or row["creator_id"] != user_id:
            raise NotFound("Not found.")
        saved = row["saved_at"] is not None
        return json_answer(request, {
            "id": row["id"],
            "status": "saved" if saved else "pending",
            "event": row["meeting_id"] if saved else None,
            "save_at": utc_iso_micro(row["due_at"]),
        })

    @app.route("/api/events/", methods=["GET"], strict_slashes=False)
    @operation("Events, a page of them (by date, searched)", {200: answers.Page[answers.Event]}, query=models.Events)
    async def events(self, request):
        await self.caller(request)
        given = parse(models.Events, query(request))
        limit, offset = given.limit, given.offset
        filters = {key: value for key, value in (("date", given.date), ("date_gte", given.date_gte),
                                                 ("date_lte", given.date_lte)) if value is not None}
        count, rows = await self.services.directory_events.page(limit, offset, given.ordering,
                                                                search=given.search, **filters)
        results = [shapes.event(r, self.base_url) for r in rows]
        return shapes.paginated(request, self.base_url, count, results, limit, offset)

    @app.route("/api/events/<int:event_id>/", methods=["GET"], strict_slashes=False)
    @operation("An event, with its organizations' members", {200: answers.EventDetail, 404: answers.Detail})
    @at_once
    async def event(self, request, event_id):
        await self.caller(request)
        row = self.services.directory_events.get(_int_id(event_id))
        if isinstance(row, Deferred):
            row = await row
        return self.kept_answers.answer(request, row, self._event_detail)

    def _event_detail(self, row) -> dict:
        return shapes.event(row, self.base_url, with_members=True)

    # -- chat --------------------------------------------------------------------------------
    @app.route("/api/chat/messages/", methods=["GET"], strict_slashes=False)
    @operation("The lobby chat's messages, a page of them", {200: answers.Page[answers.ChatMessage]},
               query=models.Paging)
    async def chat_messages(self, request):
        user_id = await self.caller(request)
        page = parse(models.Paging, query(request))
        count, found = await self.services.lobby.history(user_id, page.limit, page.offset)
        results = [shapes.chat_message(m, author) for m, author in found]
        return shapes.paginated(request, self.base_url, count, results, page.limit, page.offset)

    @app.route("/ws/chat/", strict_slashes=False)
    @operation("The lobby chat (WebSocket): every message is stored, then sent to every socket, the sender's too",
               {}, websocket=WebSocket(receives=answers.LobbyIn, sends=answers.LobbyMessage | answers.LobbyError,
                                       query=models.LobbyHandshake,
                                       refusals={400: "`after` is not a message id",
                                                 401: "no token, an unknown one, or an expired one"}))
    def chat(self, request):
        return websocket_resource(self.ws_factory)

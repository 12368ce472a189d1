"""The directory door's REST routes (DRF style, JWT, limit/offset pagination)."""

from __future__ import annotations

import json

from klein import Klein
from twisted.internet import defer

from meetsrv.core.clock import utc_iso_micro
from meetsrv.core.media import BadImage
from meetsrv.core.accounts.limiter import LoginLimited
from meetsrv.core.errors import AlreadyExists, DomainError, Invalid, NotFound, WrongCredentials
from meetsrv.doors.base import Door
from meetsrv.doors.directory import shapes
from meetsrv.doors.directory.chat import LobbySocket, bearer
from meetsrv.doors.directory.shapes import ApiError, bad_request
from meetsrv.http.answers import header, json_answer, query_arg
from meetsrv.http.body import BodyError, read_body
from meetsrv.ws.factory import make_factory, websocket_resource

NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
BAD_TOKEN = {"detail": "Given token not valid for any token type", "code": "token_not_valid"}
BAD_REFRESH = {"detail": "Token is invalid or expired", "code": "token_not_valid"}
BAD_LOGIN = {"detail": "No active account found with the given credentials"}
ORDERINGS = ("date", "-date")


def _body(request) -> dict:
    try:
        body = read_body(request)
    except BodyError as e:
        raise ApiError(400, {"detail": f"{e}"})
    if body.kind == "empty":
        return body
    if body.kind == "other":
        ctype = (request.getHeader(b"content-type") or b"").decode("latin-1")
        raise ApiError(415, {"detail": f'Unsupported media type "{ctype}" in request.'})
    if not isinstance(body.data, dict):
        raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    return body


def _int_id(value) -> int:
    if not isinstance(value, int) or not 0 < value < 2**31:
        raise shapes.not_found()
    return value


def _id_list(errors, body, name):
    """organizations / users: a JSON list, or repeated form fields (ids or JSON objects)."""
    if body.kind in ("form", "multipart"):
        items = []
        for raw in body.getlist(name):
            raw = raw.strip()
            if raw.startswith("[") or raw.startswith("{"):
                try:
                    value = json.loads(raw)
                except ValueError:
                    errors[name] = ["Each item must be an object with an integer id."]
                    return []
                items.extend(value if isinstance(value, list) else [value])
            elif raw:
                items.append(raw)
        return shapes.id_items(errors, name, items)
    return shapes.id_items(errors, name, body.get(name))


class DirectoryDoor(Door):
    name = "directory"
    app = Klein()
    path_prefixes = ("/api/user/", "/api/organizations/", "/api/events/", "/api/chat/", "/ws/chat")
    multipart_routes = frozenset({"POST /api/events/create/"})

    def __init__(self, services):
        super().__init__(services)
        self.ws_factory = make_factory(self.settings, LobbySocket, door=self, hub=services.hub, clock=services.clock)

    @property
    def base_url(self) -> str:
        return self.services.base_url

    # -- credential --------------------------------------------------------------------------
    def caller(self, request) -> int:
        raw = header(request, "authorization")
        if not raw:
            raise ApiError(401, NO_CREDENTIALS)
        user_id = self.services.directory_accounts.authenticate(bearer(raw))
        if user_id is None:
            raise ApiError(401, BAD_TOKEN)
        return user_id

    # -- errors ------------------------------------------------------------------------------
    @app.handle_errors(ApiError)
    def _api_error(self, request, failure):
        if failure.value.status == 401:
            request.setHeader(b"www-authenticate", b'Bearer realm="api"')
        return json_answer(request, failure.value.body, failure.value.status)

    @app.handle_errors(NotFound)
    def _not_found(self, request, failure):
        return json_answer(request, {"detail": "Not found."}, 404)

    @app.handle_errors(DomainError)
    def _domain(self, request, failure):
        return json_answer(request, {"detail": failure.value.message}, 400)

    # -- accounts ----------------------------------------------------------------------------
    @app.route("/api/user/sign-up/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def sign_up(self, request):
        body = _body(request)
        errors = {}
        email = shapes.email_field(errors, body.data)
        password = shapes.text_field(errors, body.data, "password", required=True, limit=1024)
        phone_field = "telephone" if body.get("telephone") is not None else "phone"
        phone = shapes.text_field(errors, body.data, phone_field, limit=32)
        if errors:
            raise bad_request(errors)
        try:
            user = yield self.services.directory_accounts.sign_up(email, password, phone or None)
        except AlreadyExists as e:
            field = e.details.get("field", "email")
            name = "telephone" if field == "phone" else field
            raise bad_request({name: [f"user with this {name} already exists."]})
        return json_answer(request, shapes.user(user), 201)

    @app.route("/api/user/sign-in/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def sign_in(self, request):
        body = _body(request)
        errors = {}
        email = shapes.text_field(errors, body.data, "email", required=True, limit=254)
        password = shapes.text_field(errors, body.data, "password", required=True, limit=1024)
        if errors:
            raise bad_request(errors)
        try:
            pair = yield self.services.directory_accounts.sign_in(email, password)
        except WrongCredentials:
            raise ApiError(401, BAD_LOGIN)
        except LoginLimited:
            raise ApiError(429, {"detail": "Request was throttled."})
        return json_answer(request, pair)

    @app.route("/api/user/refresh/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def refresh(self, request):
        body = _body(request)
        errors = {}
        token = shapes.text_field(errors, body.data, "refresh", required=True, limit=2048)
        if errors:
            raise bad_request(errors)
        pair = yield self.services.directory_accounts.refresh(token)
        if pair is None:
            raise ApiError(401, BAD_REFRESH)
        return json_answer(request, pair)

    # -- organizations -----------------------------------------------------------------------
    @app.route("/api/organizations/create/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def create_organization(self, request):
        self.caller(request)
        body = _body(request)
        errors = {}
        title = shapes.text_field(errors, body.data, "title", required=True)
        description = shapes.text_field(errors, body.data, "description", limit=10000)
        postcode = shapes.text_field(errors, body.data, "postcode", limit=16)
        address = shapes.text_field(errors, body.data, "address")
        user_ids = _id_list(errors, body, "users")
        if errors:
            raise bad_request(errors)
        try:
            org = yield self.services.organizations.create(title, description, address, postcode, user_ids)
        except Invalid as e:
            raise bad_request({"users": [f'Invalid pk "{i}" - object does not exist.' for i in e.details["missing"]]})
        return json_answer(request, shapes.organization(org), 201)

    @app.route("/api/organizations/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def organizations(self, request):
        self.caller(request)
        limit, offset = shapes.page_args(request)
        count, rows = yield self.services.organizations.page(limit, offset, query_arg(request, "search"))
        return shapes.paginated(request, self.base_url, count, [shapes.organization(r) for r in rows], limit, offset)

    @app.route("/api/organizations/<int:org_id>/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def organization(self, request, org_id):
        self.caller(request)
        org = yield self.services.organizations.get(_int_id(org_id))
        return json_answer(request, shapes.organization(org))

    # -- events ------------------------------------------------------------------------------
    @app.route("/api/events/create/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def create_event(self, request):
        user_id = self.caller(request)
        body = _body(request)
        errors = {}
        title = shapes.text_field(errors, body.data, "title", required=True)
        description = shapes.text_field(errors, body.data, "description", limit=10000)
        day, starts_at = None, None
        raw_date = body.get("date")
        if raw_date not in (None, ""):
            parsed = shapes.parse_when(raw_date)
            if parsed is None:
                errors["date"] = [shapes.DATE_FORMAT]
            else:
                day, starts_at = parsed
        org_ids = _id_list(errors, body, "organizations")
        image = None
        upload = body.files.get("image") if body.kind == "multipart" else None
        if upload is not None:
            if not upload.data:
                errors["image"] = [shapes.EMPTY_FILE]
            image = upload.data
        elif body.get("image") not in (None, ""):
            errors["image"] = [shapes.NOT_A_FILE]
        if errors:
            raise bad_request(errors)
        if (yield self.services.accounts.get(user_id)) is None:
            raise ApiError(401, BAD_TOKEN)  # the account was deleted; its token has not expired yet
        event = {"title": title, "description": description or "", "date": day, "starts_at": starts_at,
                 "organizations": org_ids}
        try:
            pending = yield self.services.directory_events.create(user_id, event, image)
        except BadImage:
            raise bad_request({"image": [shapes.BAD_IMAGE]})
        except Invalid as e:
            field = e.details.get("field", "non_field_errors")
            raise bad_request({field: [f'Invalid pk "{i}" - object does not exist.' for i in e.details.get("missing", ())]})
        return json_answer(request, {
            "id": pending["id"],
            "status": "pending",
            "detail": "The event will be saved at save_at.",
            "save_at": utc_iso_micro(pending["due_at"]),
            "status_url": f"{self.base_url}/api/events/pending/{pending['id']}/",
        }, 202)

    @app.route("/api/events/pending/<int:pending_id>/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def pending_event(self, request, pending_id):
        """Where a created event stands: {"id", "status": "pending"|"saved", "event", "save_at"}.
        Only its creator sees it."""
        user_id = self.caller(request)
        row = yield self.services.directory_events.pending_event(_int_id(pending_id))
        if row is None or row["creator_id"] != user_id:
            raise shapes.not_found()
        saved = row["saved_at"] is not None
        return json_answer(request, {
            "id": row["id"],
            "status": "saved" if saved else "pending",
            "event": row["meeting_id"] if saved else None,
            "save_at": utc_iso_micro(row["due_at"]),
        })

    @app.route("/api/events/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def events(self, request):
        self.caller(request)
        limit, offset = shapes.page_args(request)
        filters, errors = {}, {}
        for name, key in (("date", "date"), ("date__gte", "date_gte"), ("date__lte", "date_lte")):
            raw = query_arg(request, name)
            if raw:
                day = shapes.parse_day(raw)
                if day is None:
                    errors[name] = [shapes.DATE_FILTER]
                filters[key] = day
        if errors:
            raise bad_request(errors)
        ordering = query_arg(request, "ordering")
        ordering = ordering if ordering in ORDERINGS else "date"
        search = (query_arg(request, "search") or "").strip()[:255] or None
        count, rows = yield self.services.directory_events.page(limit, offset, ordering, search=search, **filters)
        results = [shapes.event(r, self.base_url) for r in rows]
        return shapes.paginated(request, self.base_url, count, results, limit, offset)

    @app.route("/api/events/<int:event_id>/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def event(self, request, event_id):
        self.caller(request)
        row = yield self.services.directory_events.get(_int_id(event_id))
        return json_answer(request, shapes.event(row, self.base_url, with_members=True))

    # -- chat --------------------------------------------------------------------------------
    @app.route("/api/chat/messages/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def chat_messages(self, request):
        self.caller(request)
        limit, offset = shapes.page_args(request)
        count, rows = yield self.services.lobby.history(limit, offset)
        return shapes.paginated(request, self.base_url, count, [shapes.chat_message(r) for r in rows], limit, offset)

    @app.route("/ws/chat/", strict_slashes=False)
    def chat(self, request):
        return websocket_resource(self.ws_factory)

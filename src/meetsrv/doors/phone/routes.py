"""The phone door's routes (seed 002): DRF REST under /api/, `Authorization: Token <key>`.

Order of checks as upstream DRF: authentication, then the object (404), then permissions
(403), then the body (400); for sign-in, a wrong code (400) before an unknown phone (404).
"""

from __future__ import annotations

from klein import Klein
from twisted.internet import defer

from meetsrv.core.errors import DomainError, Invalid, NotFound, NotPermitted, RateLimited
from meetsrv.core.meetings.phone import field_problems
from meetsrv.doors.base import Door
from meetsrv.doors.phone import fields, shapes
from meetsrv.doors.phone.fields import MISSING, FieldError
from meetsrv.http.answers import client_host, empty_answer, header, json_answer, query_args
from meetsrv.http.body import Body, BodyError, content_type, read_body


class Unauthorized(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class Answer(Exception):
    """An error answer decided by the door: status and body."""

    def __init__(self, status: int, body: dict):
        super().__init__(status)
        self.status = status
        self.body = body


class Form:
    """Collects field errors like a DRF serializer: every field is read, then all are reported."""

    def __init__(self, body: Body):
        self.body = body
        self.errors: dict[str, list[str]] = {}

    def take(self, name: str, reader, *args, **kwargs):
        try:
            return reader(self.body, name, *args, **kwargs)
        except FieldError as e:
            self.errors.setdefault(name, []).append(e.code)
            return MISSING

    def check(self) -> None:
        if self.errors:
            raise Answer(400, shapes.field_errors(self.errors))


def parse_body(request) -> Body:
    try:
        body = read_body(request)
    except BodyError as e:
        if content_type(request) == "multipart/form-data":
            raise Answer(400, {"detail": f"Multipart form parse error - {e}"})
        raise Answer(400, {"detail": f"JSON parse error - {e}"})
    if body.kind == "other":
        raise Answer(415, {"detail": f'Unsupported media type "{content_type(request)}" in request.'})
    if body.kind == "empty":
        body.data = {}
    if not isinstance(body.data, dict):
        raise Answer(400, {"non_field_errors": [
            f"Invalid data. Expected a dictionary, but got {type(body.data).__name__}."
        ]})
    return body


def object_id(raw: int) -> int:
    if raw > fields.INT_MAX:
        raise NotFound("Not found.")
    return raw


def _given(value):
    return None if value is MISSING else value


class PhoneDoor(Door):
    name = "phone"
    app = Klein()
    path_prefixes = (
        "/api/auth/code", "/api/auth/users", "/api/account", "/api/users", "/api/blacklist",
        "/api/contacts", "/api/meetings",
    )
    multipart_routes = frozenset({"POST /api/auth/users/", "PATCH /api/account/", "POST /api/meetings/"})

    def __init__(self, services):
        super().__init__(services)
        self.accounts = services.phone_accounts
        self.graph = services.graph
        self.meetings = services.phone_meetings

    # -- credential --------------------------------------------------------------------------
    @defer.inlineCallbacks
    def caller(self, request):
        value = header(request, "authorization")
        parts = (value or "").split()
        if not parts or parts[0].lower() != "token":
            raise Unauthorized("Authentication credentials were not provided.")
        if len(parts) == 1:
            raise Unauthorized("Invalid token header. No credentials provided.")
        if len(parts) > 2:
            raise Unauthorized("Invalid token header. Token string should not contain spaces.")
        user_id = yield self.accounts.authenticate(parts[1])
        if user_id is None:
            raise Unauthorized("Invalid token.")
        return user_id

    # -- errors ------------------------------------------------------------------------------
    @app.handle_errors(Unauthorized)
    def _unauthorized(self, request, failure):
        request.setHeader(b"www-authenticate", b"Token")
        return json_answer(request, {"detail": failure.value.detail}, 401)

    @app.handle_errors(Answer)
    def _answer(self, request, failure):
        return json_answer(request, failure.value.body, failure.value.status)

    @app.handle_errors(RateLimited)
    def _throttled(self, request, failure):
        return json_answer(request, shapes.THROTTLED, 429)

    @app.handle_errors(NotFound)
    def _not_found(self, request, failure):
        return json_answer(request, shapes.NOT_FOUND, 404)

    @app.handle_errors(NotPermitted)
    def _forbidden(self, request, failure):
        return json_answer(request, shapes.FORBIDDEN, 403)

    @app.handle_errors(Invalid)
    def _invalid(self, request, failure):
        problems = failure.value.details.get("fields")
        if problems:
            return json_answer(request, shapes.field_errors(problems), 400)
        code = failure.value.code
        if code == "invalid_phone":
            return json_answer(request, shapes.field_errors({"phone": [code]}), 400)
        if code == "invalid_code":
            return json_answer(request, shapes.field_errors({"code": [code]}), 400)
        return json_answer(request, {"detail": failure.value.message}, 400)

    @app.handle_errors(DomainError)
    def _domain(self, request, failure):
        return json_answer(request, {"detail": failure.value.message}, 400)

    # -- sign in / sign up -------------------------------------------------------------------
    @app.route("/api/auth/code/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def send_code(self, request):
        form = Form(parse_body(request))
        phone = form.take("phone", fields.phone)
        form.check()
        is_new = yield self.accounts.send_code(phone, client_host(request))
        return json_answer(request, {"is_new": is_new}, 201)

    @app.route("/api/auth/users/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def confirm(self, request):
        body = parse_body(request)
        form = Form(body)
        phone = form.take("phone", fields.phone)
        code = form.take("code", fields.char)
        if code is not MISSING:
            if not code.strip():
                form.errors.setdefault("code", []).append("blank")
            elif len(code) < 5:
                form.errors.setdefault("code", []).append("code_short")
            elif len(code) > 5:
                form.errors.setdefault("code", []).append("code_long")
        is_new = form.take("is_new", fields.boolean, default=False)
        form.check()
        if not is_new:
            token, user_id = yield self.accounts.sign_in(phone, code)
        else:
            try:
                name = fields.char(body, "name", required=False)
            except FieldError:
                name = ""
            try:
                avatar = fields.upload(body, "avatar")
            except FieldError:
                avatar = MISSING
            token, user_id = yield self.accounts.sign_up(phone, code, _given(name), _given(avatar))
        return json_answer(request, {"token": token, "user_id": user_id}, 201)

    # -- the account -------------------------------------------------------------------------
    @app.route("/api/account/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def account(self, request):
        user_id = yield self.caller(request)
        row = yield self.accounts.get(user_id)
        if row is None:
            raise Unauthorized("Invalid token.")
        return json_answer(request, shapes.account(self.services, row))

    @app.route("/api/account/", methods=["PATCH"], strict_slashes=False)
    @defer.inlineCallbacks
    def update_account(self, request):
        user_id = yield self.caller(request)
        form = Form(parse_body(request))
        name = form.take("name", fields.char, required=False)
        hidden_phone = form.take("hidden_phone", fields.boolean)
        avatar = form.take("avatar", fields.upload)
        form.check()
        row = yield self.accounts.update(
            user_id, name=_given(name), hidden_phone=_given(hidden_phone), avatar=_given(avatar)
        )
        return json_answer(request, shapes.account(self.services, row))

    @app.route("/api/account/", methods=["DELETE"], strict_slashes=False)
    @defer.inlineCallbacks
    def delete_account(self, request):
        user_id = yield self.caller(request)
        yield self.accounts.delete(user_id)
        return empty_answer(request, 204)

    # -- users -------------------------------------------------------------------------------
    def _users(self, views):
        return [shapes.user(self.services, v) for v in views]

    @app.route("/api/users/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def users(self, request):
        viewer = yield self.caller(request)
        try:
            ids = fields.int_list(query_args(request, "users"), allow_empty=False)
        except FieldError as e:
            raise Answer(400, shapes.field_errors({"users": [e.code]}))
        views = yield self.graph.users_by_ids(viewer, [i for i in ids if i > 0])
        return json_answer(request, self._users(views))

    @app.route("/api/users/<int:user_id>/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def user(self, request, user_id):
        viewer = yield self.caller(request)
        view = yield self.graph.user(viewer, object_id(user_id))
        return json_answer(request, shapes.user(self.services, view))

    # -- blacklist ---------------------------------------------------------------------------
    @app.route("/api/blacklist/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def blacklist(self, request):
        viewer = yield self.caller(request)
        views = yield self.graph.blacklist(viewer)
        return json_answer(request, self._users(views))

    def _target(self, request) -> int:
        form = Form(parse_body(request))
        target = form.take("user", fields.integer)
        form.check()
        return target

    @app.route("/api/blacklist/", methods=["PUT"], strict_slashes=False)
    @defer.inlineCallbacks
    def block(self, request):
        viewer = yield self.caller(request)
        views = yield self.graph.block(viewer, self._target(request))
        return json_answer(request, self._users(views))

    @app.route("/api/blacklist/", methods=["DELETE"], strict_slashes=False)
    @defer.inlineCallbacks
    def unblock(self, request):
        viewer = yield self.caller(request)
        views = yield self.graph.unblock(viewer, self._target(request))
        return json_answer(request, self._users(views))

    # -- contacts ----------------------------------------------------------------------------
    @app.route("/api/contacts/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def contacts(self, request):
        viewer = yield self.caller(request)
        views = yield self.graph.contacts(viewer)
        return json_answer(request, self._users(views))

    @staticmethod
    def _list(form: Form, name: str, convert):
        values = form.take(name, fields.items)
        if values is MISSING:
            if name not in form.errors:
                form.errors[name] = ["required"]
            return MISSING
        try:
            return convert(values)
        except FieldError as e:
            form.errors.setdefault(name, []).append(e.code)
            return MISSING

    @app.route("/api/contacts/", methods=["PUT"], strict_slashes=False)
    @defer.inlineCallbacks
    def import_contacts(self, request):
        viewer = yield self.caller(request)
        form = Form(parse_body(request))
        names = self._list(form, "names", fields.name_list)
        phones = self._list(form, "phones", fields.phone_list)
        form.check()
        views = yield self.graph.import_contacts(viewer, names, phones)
        return json_answer(request, self._users(views))

    @app.route("/api/contacts/", methods=["DELETE"], strict_slashes=False)
    @defer.inlineCallbacks
    def delete_contacts(self, request):
        viewer = yield self.caller(request)
        form = Form(parse_body(request))
        phones = self._list(form, "phones", fields.phone_list)
        form.check()
        views = yield self.graph.delete_contacts(viewer, phones)
        return json_answer(request, self._users(views))

    # -- meetings ----------------------------------------------------------------------------
    def _meeting(self, row):
        return shapes.meeting(self.services, row)

    @app.route("/api/meetings/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def create_meeting(self, request):
        creator = yield self.caller(request)
        form = Form(parse_body(request))
        title = form.take("title", fields.char, required=False)
        description = form.take("description", fields.char, required=False, allow_null=True)
        starts_at = form.take("time", fields.datetime_value)
        logo = form.take("logo", fields.upload)
        users = form.take("users", fields.items)
        if users is not MISSING and "users" not in form.errors:
            try:
                users = fields.int_list(users)
            except FieldError as e:
                form.errors["users"] = [e.code]
        if form.errors:
            # report the core's checks of the other fields too, as one serializer would
            more = field_problems(
                None if title is MISSING else title,
                None if description is MISSING else description,
                None if logo is MISSING else logo,
            )
            for name, codes in more.items():
                form.errors.setdefault(name, codes)
        form.check()
        meeting = yield self.meetings.create(
            creator, _given(title), _given(logo), description=_given(description),
            starts_at=_given(starts_at), user_ids=[u for u in (_given(users) or []) if u > 0],
        )
        return json_answer(request, self._meeting(meeting), 201)

    @app.route("/api/meetings/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def list_meetings(self, request):
        user_id = yield self.caller(request)
        values = query_args(request, "all")
        include_completed = False
        if values:
            try:
                include_completed = fields.to_bool(values[-1])
            except FieldError as e:
                raise Answer(400, shapes.field_errors({"all": [e.code]}))
        meetings = yield self.meetings.list(user_id, include_completed)
        return json_answer(request, [self._meeting(m) for m in meetings])

    @app.route("/api/meetings/<int:meeting_id>/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def get_meeting(self, request, meeting_id):
        user_id = yield self.caller(request)
        meeting = yield self.meetings.get(user_id, object_id(meeting_id))
        return json_answer(request, self._meeting(meeting))

    @app.route("/api/meetings/<int:meeting_id>/", methods=["DELETE"], strict_slashes=False)
    @defer.inlineCallbacks
    def leave_meeting(self, request, meeting_id):
        user_id = yield self.caller(request)
        yield self.meetings.leave(user_id, object_id(meeting_id))
        return empty_answer(request, 204)

    @app.route("/api/meetings/<int:meeting_id>/", methods=["PATCH"], strict_slashes=False)
    @defer.inlineCallbacks
    def update_meeting(self, request, meeting_id):
        user_id = yield self.caller(request)
        body = parse_body(request)
        try:
            completed = fields.boolean(body, "completed", default=None)
        except FieldError:
            completed = "invalid"  # refused by the core after the 404 and 403 checks
        meeting = yield self.meetings.complete(user_id, object_id(meeting_id), completed)
        return json_answer(request, self._meeting(meeting))

    @defer.inlineCallbacks
    def _member_target(self, request, user_id, meeting_id):
        # the meeting (404) is checked before the body (400), as upstream
        yield self.meetings.get(user_id, object_id(meeting_id), open_only=True)
        return self._target(request)

    @app.route("/api/meetings/<int:meeting_id>/users/", methods=["PUT"], strict_slashes=False)
    @defer.inlineCallbacks
    def invite(self, request, meeting_id):
        user_id = yield self.caller(request)
        target = yield self._member_target(request, user_id, meeting_id)
        meeting = yield self.meetings.invite(user_id, meeting_id, target)
        return json_answer(request, self._meeting(meeting))

    @app.route("/api/meetings/<int:meeting_id>/users/", methods=["DELETE"], strict_slashes=False)
    @defer.inlineCallbacks
    def exclude(self, request, meeting_id):
        user_id = yield self.caller(request)
        target = yield self._member_target(request, user_id, meeting_id)
        meeting = yield self.meetings.exclude(user_id, meeting_id, target)
        return json_answer(request, self._meeting(meeting))

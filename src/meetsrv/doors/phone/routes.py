"""The phone door's routes (seed 002): DRF REST under /api/, `Authorization: Token <key>`.

Order of checks as upstream DRF: authentication, then the object (404), then permissions
(403), then the body (400); for sign-in, a wrong code (400) before an unknown phone (404).
"""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.errors import DomainError, Invalid, NotFound, NotPermitted, RateLimited
from meetsrv.core.meetings.phone import field_problems
from meetsrv.doors.base import Door, door_app
from meetsrv.doors.phone import answers, models, shapes
from meetsrv.http.answers import client_host, empty_answer, json_answer
from meetsrv.http.at_once import at_once
from meetsrv.http.body import BodyError, NotAnObject, UnsupportedMediaType, content_type, fields
from meetsrv.http.credentials import CredentialMissing, CredentialRefused, TokenHeader, authenticate
from meetsrv.http.idempotency import idempotent
from meetsrv.http.models import RequestInvalid, parse, query
from meetsrv.openapi import Api, operation


def object_id(raw: int) -> int:
    if raw > models.INT_MAX:
        raise NotFound("Not found.")
    return raw


def _body(model, request):
    body = fields(request)
    return parse(model, body.data, **body.context())


class PhoneDoor(Door):
    name = "phone"
    app = door_app()
    path_prefixes = (
        "/api/auth/code", "/api/auth/users", "/api/account", "/api/users", "/api/blacklist",
        "/api/contacts", "/api/meetings",
    )
    credentials = (TokenHeader(),)
    multipart_routes = frozenset({"POST /api/auth/users/", "PATCH /api/account/", "POST /api/meetings/"})
    api = Api(
        title="meetsrv: phone",
        description="meetrack (seed 002): DRF REST under /api/ with sign-in by SMS code and "
                    "`Authorization: Token <key>`; bodies as JSON or forms (multipart where a file is "
                    "taken; a list is repeated keys in a form); DRF's statuses and error bodies. Every "
                    "path answers with or without its trailing slash.",
        schemes={"token": {"type": "apiKey", "in": "header", "name": "Authorization",
                           "description": "`Token <token>`, the token of /api/auth/users/."}},
        requirement=[{"token": []}],
        auth_answers={401: answers.Detail},
        body_answers={400: answers.FieldErrors | answers.Detail, 415: answers.Detail},
        query_answers={400: answers.FieldErrors},
        error=answers.Detail,
        tags=(("/api/auth/", "sign-in"), ("/api/account", "account"), ("/api/users", "users"),
              ("/api/blacklist", "users"), ("/api/contacts", "contacts"), ("/api/meetings", "meetings")),
    )

    def __init__(self, services):
        super().__init__(services)
        self.accounts = services.phone_accounts
        self.graph = services.graph
        self.meetings = services.phone_meetings

    # -- credential --------------------------------------------------------------------------
    def check(self, credential):
        return self.accounts.authenticate(credential.token)

    def caller(self, request):
        return authenticate(request, self.credentials, self.check)

    # -- errors: one handler, DRF's statuses and bodies ---------------------------------------
    @app.handle_errors(CredentialMissing, CredentialRefused, RequestInvalid, BodyError, DomainError)
    def _error(self, request, failure):
        e = failure.value
        if isinstance(e, (CredentialMissing, CredentialRefused)):
            request.setHeader(b"www-authenticate", b"Token")
            detail = e.detail if isinstance(e, CredentialRefused) else "Authentication credentials were not provided."
            return json_answer(request, {"detail": detail}, 401)
        if isinstance(e, RequestInvalid):
            return json_answer(request, shapes.request_errors(e), 400)
        if isinstance(e, UnsupportedMediaType):
            return json_answer(request, {"detail": f'Unsupported media type "{e.media_type}" in request.'}, 415)
        if isinstance(e, NotAnObject):
            return json_answer(request, {"non_field_errors": [
                f"Invalid data. Expected a dictionary, but got {e.type_name}."]}, 400)
        if isinstance(e, BodyError):
            what = "Multipart form" if content_type(request) == "multipart/form-data" else "JSON"
            return json_answer(request, {"detail": f"{what} parse error - {e}"}, 400)
        if isinstance(e, RateLimited):
            return json_answer(request, shapes.THROTTLED, 429)
        if isinstance(e, NotFound):
            return json_answer(request, shapes.NOT_FOUND, 404)
        if isinstance(e, NotPermitted):
            return json_answer(request, shapes.FORBIDDEN, 403)
        if isinstance(e, Invalid):
            problems = e.details.get("fields")
            if problems:
                return json_answer(request, shapes.field_errors(problems), 400)
            if e.code == "invalid_phone":
                return json_answer(request, shapes.field_errors({"phone": [e.code]}), 400)
            if e.code == "invalid_code":
                return json_answer(request, shapes.field_errors({"code": [e.code]}), 400)
        return json_answer(request, {"detail": e.message}, 400)

    # -- sign in / sign up -------------------------------------------------------------------
    @app.route("/api/auth/code/", methods=["POST"], strict_slashes=False)
    @operation("Send a sign-in code by SMS", {201: answers.CodeSent, 429: answers.Detail}, body=models.SendCode,
               auth=False)
    async def send_code(self, request):
        given = _body(models.SendCode, request)
        is_new = await self.accounts.send_code(given.phone, client_host(request))
        return json_answer(request, {"is_new": is_new}, 201)

    @app.route("/api/auth/users/", methods=["POST"], strict_slashes=False)
    @operation("Sign in with the code (with is_new: sign up, with a name and an avatar)",
               {201: answers.SignedIn, 404: answers.Detail, 429: answers.Detail}, body=models.Confirm, auth=False)
    async def confirm(self, request):
        given = _body(models.Confirm, request)
        if not given.is_new:
            token, user_id = await self.accounts.sign_in(given.phone, given.code)
        else:
            token, user_id = await self.accounts.sign_up(given.phone, given.code, given.name, given.avatar)
        return json_answer(request, {"token": token, "user_id": user_id}, 201)

    # -- the account -------------------------------------------------------------------------
    @app.route("/api/account/", methods=["GET"], strict_slashes=False)
    @operation("The signed-in user's account", {200: answers.Account})
    async def account(self, request):
        user_id = await self.caller(request)
        user = await self.accounts.get(user_id)
        if user is None:
            raise CredentialRefused()
        return json_answer(request, shapes.account(self.services, user))

    @app.route("/api/account/", methods=["PATCH"], strict_slashes=False)
    @operation("Change the account (the fields given)", {200: answers.Account}, body=models.AccountChanges)
    async def update_account(self, request):
        user_id = await self.caller(request)
        given = _body(models.AccountChanges, request)
        user = await self.accounts.update(user_id, name=given.name, hidden_phone=given.hidden_phone,
                                          avatar=given.avatar)
        return json_answer(request, shapes.account(self.services, user))

    @app.route("/api/account/", methods=["DELETE"], strict_slashes=False)
    @operation("Delete the account", {204: None})
    async def delete_account(self, request):
        user_id = await self.caller(request)
        await self.accounts.delete(user_id)
        return empty_answer(request, 204)

    # -- users -------------------------------------------------------------------------------
    def _users(self, views):
        return [shapes.user(self.services, v) for v in views]

    @app.route("/api/users/", methods=["GET"], strict_slashes=False)
    @operation("Users by id", {200: list[answers.Account | answers.OtherUser]}, query=models.Users)
    async def users(self, request):
        viewer = await self.caller(request)
        given = parse(models.Users, query(request))
        views = await self.graph.users_by_ids(viewer, [i for i in given.users if i > 0])
        return json_answer(request, self._users(views))

    @app.route("/api/users/<int:user_id>/", methods=["GET"], strict_slashes=False)
    @operation("A user", {200: answers.Account | answers.OtherUser, 404: answers.Detail})
    async def user(self, request, user_id):
        viewer = await self.caller(request)
        view = await self.graph.user(viewer, object_id(user_id))
        return json_answer(request, shapes.user(self.services, view))

    # -- blacklist ---------------------------------------------------------------------------
    @app.route("/api/blacklist/", methods=["GET"], strict_slashes=False)
    @operation("The users the user blocked", {200: list[answers.Account | answers.OtherUser]})
    async def blacklist(self, request):
        viewer = await self.caller(request)
        return json_answer(request, self._users(await self.graph.blacklist(viewer)))

    @app.route("/api/blacklist/", methods=["PUT"], strict_slashes=False)
    @operation("Block a user: the blacklist", {200: list[answers.Account | answers.OtherUser]}, body=models.Target)
    async def block(self, request):
        viewer = await self.caller(request)
        given = _body(models.Target, request)
        return json_answer(request, self._users(await self.graph.block(viewer, given.user)))

    @app.route("/api/blacklist/", methods=["DELETE"], strict_slashes=False)
    @operation("Unblock a user: the blacklist", {200: list[answers.Account | answers.OtherUser]}, body=models.Target)
    async def unblock(self, request):
        viewer = await self.caller(request)
        given = _body(models.Target, request)
        return json_answer(request, self._users(await self.graph.unblock(viewer, given.user)))

    # -- contacts ----------------------------------------------------------------------------
    @app.route("/api/contacts/", methods=["GET"], strict_slashes=False)
    @operation("The user's contacts", {200: list[answers.Account | answers.OtherUser]})
    async def contacts(self, request):
        viewer = await self.caller(request)
        return json_answer(request, self._users(await self.graph.contacts(viewer)))

    @app.route("/api/contacts/", methods=["PUT"], strict_slashes=False)
    @operation("Add contacts (names and phones, pairwise): the contacts", {200: list[answers.Account | answers.OtherUser]}, body=models.NewContacts)
    async def import_contacts(self, request):
        viewer = await self.caller(request)
        given = _body(models.NewContacts, request)
        views = await self.graph.import_contacts(viewer, given.names, given.phones)
        return json_answer(request, self._users(views))

    @app.route("/api/contacts/", methods=["DELETE"], strict_slashes=False)
    @operation("Remove contacts by phone: the contacts", {200: list[answers.Account | answers.OtherUser]}, body=models.GoneContacts)
    async def delete_contacts(self, request):
        viewer = await self.caller(request)
        given = _body(models.GoneContacts, request)
        return json_answer(request, self._users(await self.graph.delete_contacts(viewer, given.phones)))

    # -- meetings ----------------------------------------------------------------------------
    def _meeting(self, meeting):
        return shapes.meeting(self.services, meeting)

    @app.route("/api/meetings/", methods=["POST"], strict_slashes=False)
    @operation("Create a meeting with these users", {201: answers.Meeting}, body=models.NewMeeting)
    @idempotent
    async def create_meeting(self, request):
        creator = await self.caller(request)
        body = fields(request)
        try:
            given = parse(models.NewMeeting, body.data, **body.context())
        except RequestInvalid as e:
            # report the core's checks of the other fields too, as one serializer would
            raise e.adding(field_problems(*models.NewMeeting.leniently(body.data, **body.context())))
        meeting = await self.meetings.create(
            creator, given.title, given.logo, description=given.description, starts_at=given.time,
            user_ids=[u for u in given.users if u > 0],
        )
        return json_answer(request, self._meeting(meeting), 201)

    @app.route("/api/meetings/", methods=["GET"], strict_slashes=False)
    @operation("The user's open meetings (with all: the completed ones too)", {200: list[answers.Meeting]},
               query=models.Meetings)
    async def list_meetings(self, request):
        user_id = await self.caller(request)
        given = parse(models.Meetings, query(request))
        meetings = await self.meetings.list(user_id, given.all)
        return json_answer(request, [shapes.meeting_row(self.services, m) for m in meetings])

    @app.route("/api/meetings/<int:meeting_id>/", methods=["GET"], strict_slashes=False)
    @operation("A meeting of the user's", {200: answers.Meeting, 404: answers.Detail})
    @at_once
    async def get_meeting(self, request, meeting_id):
        user_id = await self.caller(request)
        meeting = self.meetings.shown(user_id, object_id(meeting_id))
        if isinstance(meeting, defer.Deferred):
            meeting = await meeting
        return json_answer(request, self._meeting(meeting))

    @app.route("/api/meetings/<int:meeting_id>/", methods=["DELETE"], strict_slashes=False)
    @operation("Leave a meeting", {204: None, 404: answers.Detail})
    async def leave_meeting(self, request, meeting_id):
        user_id = await self.caller(request)
        await self.meetings.leave(user_id, object_id(meeting_id))
        return empty_answer(request, 204)

    @app.route("/api/meetings/<int:meeting_id>/", methods=["PATCH"], strict_slashes=False)
    @operation("Complete a meeting (its king only)", {200: answers.Meeting, 403: answers.Detail,
                                                      404: answers.Detail}, body=models.MeetingChanges)
    async def update_meeting(self, request, meeting_id):
        user_id = await self.caller(request)
        given = _body(models.MeetingChanges, request)
        meeting = await self.meetings.complete(user_id, object_id(meeting_id), given.completed)
        return json_answer(request, self._meeting(meeting))

    async def _member_target(self, request, user_id, meeting_id) -> int:
        # the meeting (404) is checked before the body (400), as upstream
        await self.meetings.get(user_id, object_id(meeting_id), open_only=True)
        return _body(models.Target, request).user

    @app.route("/api/meetings/<int:meeting_id>/users/", methods=["PUT"], strict_slashes=False)
    @operation("Invite a user to a meeting", {200: answers.Meeting, 403: answers.Detail, 404: answers.Detail},
               body=models.Target)
    async def invite(self, request, meeting_id):
        user_id = await self.caller(request)
        target = await self._member_target(request, user_id, meeting_id)
        return json_answer(request, self._meeting(await self.meetings.invite(user_id, meeting_id, target)))

    @app.route("/api/meetings/<int:meeting_id>/users/", methods=["DELETE"], strict_slashes=False)
    @operation("Exclude a user from a meeting (its king only)", {200: answers.Meeting, 403: answers.Detail,
                                                                 404: answers.Detail}, body=models.Target)
    async def exclude(self, request, meeting_id):
        user_id = await self.caller(request)
        target = await self._member_target(request, user_id, meeting_id)
        return json_answer(request, self._meeting(await self.meetings.exclude(user_id, meeting_id, target)))

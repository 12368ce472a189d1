"""The social door's routes (seed 000). Paths end with a slash as upstream's, and also answer
without it. Object errors are HTTP 200 envelopes; authentication, permission and validation
errors are DRF's real statuses and bodies."""

from __future__ import annotations

import json

from twisted.internet import defer
from twisted.logger import Logger
from werkzeug.exceptions import HTTPException

from meetsrv.core.accounts.social import TOKEN_KIND, SocialTokenRefused, VerifierUnavailable
from meetsrv.core.chats.meeting_chats import ChatMissing
from meetsrv.core.errors import Invalid, NotFound, NotPermitted, RateLimited
from meetsrv.core.media import BadImage
from meetsrv.core.meetings.join_requests import DuplicateRequest, MeetingMissing, OwnMeeting
from meetsrv.core.meetings.social import CATEGORIES
from meetsrv.core.people.names import DisplayNameInvalid
from meetsrv.core.people.photos import NoFile
from meetsrv.core.records import row_of
from meetsrv.doors.base import Door, door_app
from meetsrv.doors.social import answers, models, shapes
from meetsrv.doors.social.chat import SocialChatSocket
from meetsrv.http.answers import KeptAnswers, json_answer
from meetsrv.http.at_once import at_once
from meetsrv.http.body import BodyError, NotAnObject, UnsupportedMediaType, content_type, fields, raw_body, read_body
from meetsrv.http.credentials import CredentialMissing, CredentialRefused, TokenHeader, authenticate
from meetsrv.http.idempotency import idempotent
from meetsrv.http.models import DRF_MESSAGES, RequestInvalid, drf_errors, parse, query
from meetsrv.http.outage import is_outage
from meetsrv.openapi import MULTIPART, Api, WebSocket, operation
from meetsrv.ws.factory import make_factory, websocket_resource

log = Logger()

MAX_ID = 2**31 - 1
FORBIDDEN = "You do not have permission to perform this action."
DISPLAY_NAME_WORDS = {"required": DRF_MESSAGES["missing"], "blank": DRF_MESSAGES["string_too_short"],
                      "max_length": DRF_MESSAGES["string_too_long"]}


def _id(value: int):
    """A path id the database can hold, else None (treated as no such object)."""
    return value if 0 < value <= MAX_ID else None


def _body(model, request):
    """The body read by `model`; a repeated form field counts by its last value (uploads are not
    fields here)."""
    body = fields(request)
    data = {k: (v[-1] if isinstance(v, list) else v) for k, v in body.data.items()} if body.form else body.data
    return parse(model, data)


class SocialDoor(Door):
    name = "social"
    app = door_app()
    path_prefixes = (
        "/api-token-auth", "/user-detail", "/upload-photo", "/set-avatar", "/delete-photo",
        "/meetings-list", "/meeting-detail", "/meeting-types", "/meeting-confirm", "/confirms-list",
        "/confirm-action", "/unread-confirms", "/chats-list", "/message-list", "/chat/",
    )
    credentials = (TokenHeader(),)
    multipart_routes = frozenset({"PUT /upload-photo/<filename>"})
    api = Api(
        title="meetsrv: social",
        description="LetsGo (seed 000): DRF-style paths with a trailing slash (also answered without "
                    "it), bodies as JSON or forms, `Authorization: Token <key>`. Authentication, "
                    "permission and validation errors are DRF's statuses and bodies; objects that are "
                    "missing or refused are upstream's envelopes {\"status\", \"msg\", \"data\"} "
                    "with HTTP 200.",
        schemes={"token": {"type": "apiKey", "in": "header", "name": "Authorization",
                           "description": "`Token <token>`, the token of /api-token-auth/."}},
        requirement=[{"token": []}],
        auth_answers={401: answers.Detail},
        body_answers={400: answers.FieldErrors | answers.Detail, 415: answers.Detail},
        query_answers={400: answers.FieldErrors},
        error=answers.Detail,
        tags=(("/api-token-auth", "users"), ("/user-detail", "users"), ("/upload-photo", "photos"),
              ("/set-avatar", "photos"), ("/delete-photo", "photos"), ("/meeting-confirm", "join requests"),
              ("/confirm", "join requests"), ("/unread-confirms", "join requests"), ("/meeting", "meetings"),
              ("/chat", "chats"), ("/message-list", "chats")),
    )

    def __init__(self, services):
        super().__init__(services)
        self.urls = shapes.Urls(services)
        # the meeting detail rendered once per kept read
        self.kept_answers = KeptAnswers()
        self.ws_factory = make_factory(
            self.settings, SocialChatSocket, door=self, hub=services.hub, clock=services.clock
        )
        services.social_verifier.warn()

    # -- credential --------------------------------------------------------------------------
    def check(self, credential):
        # the user id at once when the credential is cached, else a Deferred
        return self.services.credentials.user_of(credential.token, (TOKEN_KIND,))

    def caller(self, request, required: bool = True):
        return authenticate(request, self.credentials, self.check, required=required)

    # -- errors: one handler; DRF's statuses and bodies, or upstream's envelopes ----------------
    @app.handle_errors(Exception)
    def _error(self, request, failure):
        e = failure.value
        if isinstance(e, (CredentialMissing, CredentialRefused)):
            request.setHeader(b"www-authenticate", b"Token")
            detail = e.detail if isinstance(e, CredentialRefused) else "Authentication credentials were not provided."
            return shapes.detail(request, detail, 401)
        if isinstance(e, RequestInvalid):
            return json_answer(request, drf_errors(e), 400)
        if isinstance(e, UnsupportedMediaType):
            return shapes.detail(request, f'Unsupported media type "{e.media_type}" in request.', 415)
        if isinstance(e, NotAnObject):
            return json_answer(request, {"non_field_errors": [
                f"Invalid data. Expected a dictionary, but got {e.type_name}."]}, 400)
        if isinstance(e, BodyError):
            what = "JSON" if "json" in content_type(request) else "Form"
            return shapes.detail(request, f"{what} parse error - {e}", 400)
        if isinstance(e, NotPermitted):
            return shapes.detail(request, FORBIDDEN, 403)
        if isinstance(e, SocialTokenRefused):
            return json_answer(request, {"non_field_errors": ["Unable to log in with provided credentials."]}, 400)
        if isinstance(e, VerifierUnavailable):
            return shapes.detail(request, "The social network could not be reached; try again later.", 503)
        if isinstance(e, (MeetingMissing, ChatMissing)):
            return shapes.envelope(request, 404, e.message)
        if isinstance(e, (DuplicateRequest, OwnMeeting)):
            return shapes.envelope(request, 400, e.message)
        if isinstance(e, RateLimited):
            return shapes.envelope(request, 429, e.message)
        if isinstance(e, NoFile):
            return shapes.envelope(request, 400, "error: no file in request")
        if isinstance(e, BadImage):
            return shapes.envelope(request, 400, f"error: the file is not an image ({e.message})")
        if isinstance(e, DisplayNameInvalid):  # the core's rule, in DRF's words
            return json_answer(request, {e.field: [DISPLAY_NAME_WORDS[e.problem].format(max_length=e.max_length)]}, 400)
        if isinstance(e, Invalid):
            return json_answer(request, {"non_field_errors": [e.message]}, 400)
        if isinstance(e, NotFound):
            return shapes.detail(request, "Not found.", 404)
        if isinstance(e, HTTPException):  # Klein's own routing answers, in this door's style
            if e.code == 404:
                return self.not_found(request)
            if e.code == 405:
                return self.method_not_allowed(request)
            return shapes.detail(request, e.description or "error", e.code)
        if is_outage(e):
            return self.unavailable(request)
        log.failure("social door: unexpected error on {path}", failure, path=request.path)
        return shapes.detail(request, "A server error occurred.", 500)

    # -- login -------------------------------------------------------------------------------
    @app.route("/api-token-auth/", methods=["POST"], strict_slashes=False)
    @operation("Sign in with a social network's token (a user is made on first sign-in)",
               {200: answers.Token, 401: answers.Detail, 503: answers.Detail}, body=models.Login, auth="optional")
    async def login(self, request):
        await self.caller(request, required=False)  # a bad Token header is refused (upstream)
        given = _body(models.Login, request)
        user_id, token, _ = await self.services.social_login.login(
            given.social_slug, str(given.external_id), given.token, given.first_name
        )
        return json_answer(request, {"token": token, "href": self.urls.user(user_id)})

    # -- users -------------------------------------------------------------------------------
    async def _user_json(self, user_id: int):
        user = await self.services.accounts.get(user_id)
        if user is None:
            return None
        photos = await self.services.social_photos.of_user(user_id)
        # the shape also renders meeting owners, which come as rows (accounts.get_many)
        return shapes.user_extended(self.urls, row_of(user), photos)

    @app.route("/user-detail/", methods=["GET"], strict_slashes=False)
    @operation("The signed-in user", {200: answers.UserExtended})
    async def me(self, request):
        user_id = await self.caller(request)
        return json_answer(request, await self._user_json(user_id))

    @app.route("/user-detail/<int:pk>/", methods=["GET"], strict_slashes=False)
    @operation("A user (an unknown one: an envelope)", {200: answers.UserExtended | answers.Envelope})
    async def user(self, request, pk):
        await self.caller(request)
        found = (await self._user_json(pk)) if _id(pk) else None
        if found is None:
            return shapes.envelope(request, 400, "User does not exist")
        return json_answer(request, found)

    @app.route("/user-detail/", methods=["PUT"], strict_slashes=False)
    @operation("Change the signed-in user's profile (the fields given)", {200: answers.UserExtended},
               body=models.ProfileChanges)
    def update_me(self, request):
        return self._update_user(request, None)

    @app.route("/user-detail/<int:pk>/", methods=["PUT"], strict_slashes=False)
    @operation("Change the profile of the signed-in user, by id", {200: answers.UserExtended, 403: answers.Detail},
               body=models.ProfileChanges)
    def update_user(self, request, pk):
        return self._update_user(request, pk)

    async def _update_user(self, request, pk):
        user_id = await self.caller(request)
        if pk is not None and pk != user_id:
            raise NotPermitted()
        given = _body(models.ProfileChanges, request)
        await self.services.social_login.update_profile(user_id, given.values())
        return json_answer(request, await self._user_json(user_id))

    # -- photos ------------------------------------------------------------------------------
    @app.route("/upload-photo/<filename>", methods=["PUT"], strict_slashes=False)
    @operation("Add a photo: the body is the image, or a multipart form with it",
               {200: answers.HrefEnvelope}, content={
                   "image/*": {"schema": {"type": "string", "format": "binary"}},
                   MULTIPART: {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
               })
    async def upload_photo(self, request, filename):
        user_id = await self.caller(request)
        data = raw_body(request)
        if content_type(request) == "multipart/form-data":
            try:
                files = read_body(request).files
            except BodyError:
                files = {}
            data = next(iter(files.values())).data if files else b""
        photo = await self.services.social_photos.upload(user_id, filename, data)
        return shapes.envelope(request, 204, "ok", {"href": self.urls.media(photo["path"])})

    @app.route("/set-avatar/<int:pk>/", methods=["PUT"], strict_slashes=False)
    @operation("Make a photo of the user's the avatar", {200: answers.Envelope, 403: answers.Detail, 404: answers.Detail})
    async def set_avatar(self, request, pk):
        user_id = await self.caller(request)
        if not _id(pk):
            raise NotPermitted()
        await self.services.social_photos.set_avatar(user_id, pk)
        return shapes.envelope(request, 200, "ok")

    @app.route("/delete-photo/<int:pk>/", methods=["DELETE"], strict_slashes=False)
    @operation("Delete a photo of the user's", {200: answers.Envelope, 403: answers.Detail, 404: answers.Detail})
    async def delete_photo(self, request, pk):
        user_id = await self.caller(request)
        if not _id(pk):
            raise NotPermitted()
        await self.services.social_photos.delete(user_id, pk)
        return shapes.envelope(request, 204, "ok")

    # -- meetings ----------------------------------------------------------------------------
    @app.route("/meetings-list/", methods=["GET"], strict_slashes=False)
    @operation("Meetings (near a place, of a category, for a gender and ages)", {200: list[answers.Meeting]},
               query=models.MeetingFilters)
    async def meetings(self, request):
        user_id = await self.caller(request)
        given = parse(models.MeetingFilters, query(request))
        rows = await self.services.social_meetings.search(**given.filters())
        items = await self.services.social_meetings.describe(user_id, rows)
        return json_answer(request, [shapes.meeting(self.urls, i) for i in items])

    @app.route("/meetings-list/", methods=["POST"], strict_slashes=False)
    @operation("Create a meeting (too many: an envelope)", {201: answers.Meeting, 200: answers.Envelope},
               body=models.NewMeeting)
    @idempotent
    async def create_meeting(self, request):
        user_id = await self.caller(request)
        meetings = self.services.social_meetings
        given = _body(models.NewMeeting, request)
        meeting = await meetings.create(user_id, given.values(meetings.today().isoformat()))
        # describe also takes the rows of meeting lists
        items = await meetings.describe(user_id, [row_of(meeting)])
        return json_answer(request, shapes.meeting(self.urls, items[0]), 201)

    @app.route("/meeting-detail/<int:pk>/", methods=["GET"], strict_slashes=False)
    @operation("A meeting (an unknown one: an envelope)", {200: answers.Meeting | answers.Envelope, 404: answers.Detail})
    @at_once
    async def meeting(self, request, pk):
        user_id = await self.caller(request)
        item = self.services.social_meetings.detail(user_id, pk if _id(pk) else 0)
        if isinstance(item, defer.Deferred):
            item = await item
        return self.kept_answers.answer(request, item, self._meeting_detail)

    def _meeting_detail(self, item) -> dict:
        return shapes.meeting(self.urls, item)

    @app.route("/meeting-detail/<int:pk>/", methods=["PUT"], strict_slashes=False)
    @operation("Change a meeting of the user's (the fields given)",
               {200: answers.Meeting | answers.Envelope, 403: answers.Detail, 404: answers.Detail},
               body=models.MeetingChanges)
    async def update_meeting(self, request, pk):
        user_id = await self.caller(request)
        meetings = self.services.social_meetings
        if not _id(pk):
            raise NotPermitted()
        await meetings.check_owner(user_id, pk)  # before validation, as DRF's permission check
        given = _body(models.MeetingChanges, request)
        meeting = await meetings.update(user_id, pk, given.values())
        items = await meetings.describe(user_id, [row_of(meeting)])
        return json_answer(request, shapes.meeting(self.urls, items[0]))

    @app.route("/meeting-types/", methods=["GET"], strict_slashes=False)
    @operation("The meeting categories: `data` is a JSON text of [name, number] pairs", {200: answers.TextEnvelope})
    async def meeting_types(self, request):
        await self.caller(request)
        # upstream sends the pairs as a JSON *string*
        return shapes.envelope(request, 200, "ok", json.dumps([[k, v] for k, v in CATEGORIES.items()]))

    # -- join requests -----------------------------------------------------------------------
    @app.route("/meeting-confirm/<int:pk>/", methods=["POST"], strict_slashes=False)
    @operation("Ask to join a meeting", {200: answers.Envelope})
    @idempotent
    async def meeting_confirm(self, request, pk):
        user_id = await self.caller(request)
        if not _id(pk):
            raise MeetingMissing("meeting does not exist")
        await self.services.join_requests.request(user_id, pk)
        return shapes.envelope(request, 200, "ok")

    @app.route("/confirms-list/", methods=["GET"], strict_slashes=False)
    @operation("Requests to join the user's meetings", {200: list[answers.Confirm]})
    async def confirms(self, request):
        user_id = await self.caller(request)
        rows = await self.services.join_requests.pending(user_id)
        meetings = self.services.social_meetings
        meeting_rows = await meetings.get_many(r["meeting_id"] for r in rows)
        items = {i["meeting"]["id"]: i for i in (await meetings.describe(user_id, meeting_rows))}
        users = {u["id"]: u for u in (await self.services.accounts.get_many(r["user_id"] for r in rows))}
        return json_answer(request, [
            shapes.confirm(self.urls, r, users.get(r["user_id"]), items[r["meeting_id"]])
            for r in rows if r["meeting_id"] in items
        ])

    @app.route("/confirm-action/<int:pk>/", methods=["PUT"], strict_slashes=False)
    @operation("Approve, reject or mark read a request to join", {200: answers.ConfirmActed, 403: answers.Detail,
                                                                  404: answers.Detail},
               body=models.ConfirmAction)
    async def confirm_action(self, request, pk):
        user_id = await self.caller(request)
        if not _id(pk):
            raise NotPermitted()
        await self.services.join_requests.check_owner(user_id, pk)  # before validation
        given = _body(models.ConfirmAction, request)
        row = await self.services.join_requests.act(user_id, pk, given.values())
        user = await self.services.accounts.get(row["user_id"])
        # the shape also renders users that come as rows (accounts.get_many)
        return json_answer(request, shapes.confirm(self.urls, row, row_of(user) if user else None))

    @app.route("/unread-confirms/", methods=["GET"], strict_slashes=False)
    @operation("How many requests to join are unread: `data` is a JSON text {\"unread\": n}",
               {200: answers.TextEnvelope})
    async def unread_confirms(self, request):
        user_id = await self.caller(request)
        count = await self.services.join_requests.unread(user_id)
        # a JSON-encoded string at the seed's commit, as upstream
        return shapes.envelope(request, 200, "ok", json.dumps({"unread": count}))

    # -- chats -------------------------------------------------------------------------------
    @app.route("/chats-list/", methods=["GET"], strict_slashes=False)
    @operation("The user's meeting chats", {200: list[answers.Chat]})
    async def chats(self, request):
        user_id = await self.caller(request)
        items = await self.services.social_chats.list(user_id)
        return json_answer(request, [shapes.chat(self.urls, i) for i in items])

    @app.route("/message-list/<int:pk>/", methods=["GET"], strict_slashes=False)
    @operation("A chat's messages (not a member: an envelope)", {200: list[answers.Message] | answers.Envelope})
    async def messages(self, request, pk):
        user_id = await self.caller(request)
        if not _id(pk):
            raise ChatMissing("chat does not exist")
        try:
            found = await self.services.social_chats.messages(user_id, pk)
        except NotPermitted:  # here upstream answered with its envelope, not DRF's 403
            return shapes.envelope(request, 400, "you can not see this chat")
        return json_answer(request, [shapes.message(self.urls, m, author) for m, author in found])

    @app.route("/chat/<slug>/", strict_slashes=False)
    @operation("A meeting's chat (WebSocket): each text frame is stored and sent to every member's socket, "
               "the sender's too", {}, auth=False, websocket=WebSocket(
                   receives={"type": "string", "description": "Any text."},
                   sends={"type": "string", "description": "A member's text, as sent."},
                   query=models.ChatHandshake,
                   refusals={400: "no token, or an `after` that is not a message id", 401: "an unknown token",
                             403: "not a member of the chat"}))
    def chat_socket(self, request, slug):
        return websocket_resource(self.ws_factory, slug=slug)

"""The social door's routes (seed 000). Paths end with a slash as upstream's, and also answer
without it. Object errors are HTTP 200 envelopes; authentication, permission and validation
errors are DRF's real statuses and bodies."""

from __future__ import annotations

import json

from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger

from meetsrv.core.errors import Invalid, NotFound, NotPermitted, RateLimited
from meetsrv.core.meetings.join_requests import DuplicateRequest, MeetingMissing, OwnMeeting
from meetsrv.core.media import BadImage
from meetsrv.core.people.names import DisplayNameInvalid
from meetsrv.core.people.photos import NoFile
from meetsrv.core.chats.meeting_chats import ChatMissing
from meetsrv.core.accounts.social import TOKEN_KIND, SocialTokenRefused, VerifierUnavailable
from meetsrv.core.meetings.social import CATEGORIES
from meetsrv.doors.base import Door
from meetsrv.doors.social import forms, shapes
from meetsrv.doors.social.chat import SocialChatSocket
from meetsrv.http.answers import header, json_answer, query_arg
from meetsrv.http.body import BodyError, content_type, raw_body, read_body
from meetsrv.ws.factory import make_factory, websocket_resource

log = Logger()

MAX_ID = 2**31 - 1
FORBIDDEN = "You do not have permission to perform this action."


class NotAuthenticated(Exception):
    pass


class AuthenticationFailed(Exception):
    pass


class Forbidden(Exception):
    pass


def _id(value: int):
    """A path id the database can hold, else None (treated as no such object)."""
    return value if 0 < value <= MAX_ID else None


class SocialDoor(Door):
    name = "social"
    app = Klein()
    path_prefixes = (
        "/api-token-auth", "/user-detail", "/upload-photo", "/set-avatar", "/delete-photo",
        "/meetings-list", "/meeting-detail", "/meeting-types", "/meeting-confirm", "/confirms-list",
        "/confirm-action", "/unread-confirms", "/chats-list", "/message-list", "/chat/",
    )
    multipart_routes = frozenset({"PUT /upload-photo/<filename>"})

    def __init__(self, services):
        super().__init__(services)
        self.urls = shapes.Urls(services)
        self.ws_factory = make_factory(
            self.settings, SocialChatSocket, door=self, hub=services.hub, clock=services.clock
        )
        services.social_verifier.warn()

    # -- credential --------------------------------------------------------------------------
    def _token(self, request):
        """The key of `Authorization: Token <key>`; None when there is no Token header."""
        value = header(request, "authorization")
        if not value:
            return None
        parts = value.split()
        if not parts or parts[0].lower() != "token":
            return None  # not DRF's scheme: as if no credential was sent
        if len(parts) == 1:
            raise AuthenticationFailed("Invalid token header. No credentials provided.")
        if len(parts) > 2:
            raise AuthenticationFailed("Invalid token header. Token string should not contain spaces.")
        return parts[1]

    @defer.inlineCallbacks
    def caller(self, request, required: bool = True):
        token = self._token(request)
        if token is None:
            if required:
                raise NotAuthenticated()
            return None
        user_id = yield self.services.credentials.authenticate(token, (TOKEN_KIND,))
        if user_id is None:
            raise AuthenticationFailed("Invalid token.")
        return user_id

    # -- errors ------------------------------------------------------------------------------
    @app.handle_errors(NotAuthenticated)
    def _not_authenticated(self, request, failure):
        request.setHeader(b"www-authenticate", b"Token")
        return shapes.detail(request, "Authentication credentials were not provided.", 401)

    @app.handle_errors(AuthenticationFailed)
    def _auth_failed(self, request, failure):
        request.setHeader(b"www-authenticate", b"Token")
        return shapes.detail(request, str(failure.value), 401)

    @app.handle_errors(Forbidden, NotPermitted)
    def _forbidden(self, request, failure):
        return shapes.detail(request, FORBIDDEN, 403)

    @app.handle_errors(forms.FieldErrors)
    def _field_errors(self, request, failure):
        return json_answer(request, failure.value.errors, 400)

    @app.handle_errors(DisplayNameInvalid)
    def _display_name(self, request, failure):
        e = failure.value
        message = (f"Ensure this field has no more than {e.max_length} characters." if e.problem == "max_length"
                   else forms.REQUIRED if e.problem == "required" else forms.BLANK)
        return json_answer(request, {e.field: [message]}, 400)

    @app.handle_errors(forms.ParseError)
    def _parse_error(self, request, failure):
        return shapes.detail(request, str(failure.value), 400)

    @app.handle_errors(forms.UnsupportedMediaType)
    def _media_type(self, request, failure):
        return shapes.detail(request, f'Unsupported media type "{failure.value.media_type}" in request.', 415)

    @app.handle_errors(Exception)
    def _crash(self, request, failure):
        from werkzeug.exceptions import HTTPException

        if failure.check(HTTPException):  # Klein's own routing answers, in this door's style
            code = failure.value.code
            if code == 404:
                return self.not_found(request)
            if code == 405:
                return self.method_not_allowed(request)
            return shapes.detail(request, failure.value.description or "error", code)
        log.failure("social door: unexpected error on {path}", failure, path=request.path)
        return shapes.detail(request, "A server error occurred.", 500)

    # -- login -------------------------------------------------------------------------------
    @app.route("/api-token-auth/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def login(self, request):
        yield self.caller(request, required=False)  # a bad Token header is refused (upstream)
        values = forms.login(forms.body_dict(request))
        try:
            user_id, token, _ = yield self.services.social_login.login(
                values["social_slug"], values["external_id"], values["token"], values["first_name"]
            )
        except SocialTokenRefused:
            raise forms.FieldErrors({"non_field_errors": ["Unable to log in with provided credentials."]})
        except VerifierUnavailable:
            return shapes.detail(request, "The social network could not be reached; try again later.", 503)
        return json_answer(request, {"token": token, "href": self.urls.user(user_id)})

    # -- users -------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def _user_json(self, user_id: int):
        row = yield self.services.accounts.get(user_id)
        if row is None:
            return None
        photos = yield self.services.social_photos.of_user(user_id)
        return shapes.user_extended(self.urls, row, photos)

    @app.route("/user-detail/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def me(self, request):
        user_id = yield self.caller(request)
        return json_answer(request, (yield self._user_json(user_id)))

    @app.route("/user-detail/<int:pk>/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def user(self, request, pk):
        yield self.caller(request)
        found = (yield self._user_json(pk)) if _id(pk) else None
        if found is None:
            return shapes.envelope(request, 400, "User does not exist")
        return json_answer(request, found)

    @app.route("/user-detail/", methods=["PUT"], strict_slashes=False)
    def update_me(self, request):
        return self._update_user(request, None)

    @app.route("/user-detail/<int:pk>/", methods=["PUT"], strict_slashes=False)
    def update_user(self, request, pk):
        return self._update_user(request, pk)

    @defer.inlineCallbacks
    def _update_user(self, request, pk):
        user_id = yield self.caller(request)
        if pk is not None and pk != user_id:
            raise Forbidden()
        values = forms.user_update(forms.body_dict(request))
        yield self.services.social_login.update_profile(user_id, values)
        return json_answer(request, (yield self._user_json(user_id)))

    # -- photos ------------------------------------------------------------------------------
    @app.route("/upload-photo/<filename>", methods=["PUT"], strict_slashes=False)
    @defer.inlineCallbacks
    def upload_photo(self, request, filename):
        user_id = yield self.caller(request)
        data = raw_body(request)
        if content_type(request) == "multipart/form-data":
            try:
                files = read_body(request).files
            except BodyError:
                files = {}
            data = next(iter(files.values())).data if files else b""
        try:
            photo = yield self.services.social_photos.upload(user_id, filename, data)
        except NoFile:
            return shapes.envelope(request, 400, "error: no file in request")
        except BadImage as e:
            return shapes.envelope(request, 400, f"error: the file is not an image ({e.message})")
        return shapes.envelope(request, 204, "ok", {"href": self.urls.media(photo["path"])})

    @app.route("/set-avatar/<int:pk>/", methods=["PUT"], strict_slashes=False)
    @defer.inlineCallbacks
    def set_avatar(self, request, pk):
        user_id = yield self.caller(request)
        if not _id(pk):
            raise Forbidden()
        yield self.services.social_photos.set_avatar(user_id, pk)
        return shapes.envelope(request, 200, "ok")

    @app.route("/delete-photo/<int:pk>/", methods=["DELETE"], strict_slashes=False)
    @defer.inlineCallbacks
    def delete_photo(self, request, pk):
        user_id = yield self.caller(request)
        if not _id(pk):
            raise Forbidden()
        yield self.services.social_photos.delete(user_id, pk)
        return shapes.envelope(request, 204, "ok")

    # -- meetings ----------------------------------------------------------------------------
    @app.route("/meetings-list/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def meetings(self, request):
        user_id = yield self.caller(request)
        filters = forms.meeting_filters(lambda name: query_arg(request, name))
        rows = yield self.services.social_meetings.search(**filters)
        items = yield self.services.social_meetings.describe(user_id, rows)
        return json_answer(request, [shapes.meeting(self.urls, i) for i in items])

    @app.route("/meetings-list/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def create_meeting(self, request):
        user_id = yield self.caller(request)
        meetings = self.services.social_meetings
        values = forms.meeting(forms.body_dict(request), meetings.today().isoformat())
        try:
            row = yield meetings.create(user_id, values)
        except RateLimited as e:
            return shapes.envelope(request, 429, e.message)
        items = yield meetings.describe(user_id, [row])
        return json_answer(request, shapes.meeting(self.urls, items[0]), 201)

    @app.route("/meeting-detail/<int:pk>/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def meeting(self, request, pk):
        user_id = yield self.caller(request)
        meetings = self.services.social_meetings
        try:
            row = yield meetings.get(pk if _id(pk) else 0)
        except NotFound:
            return shapes.detail(request, "Not found.", 404)
        items = yield meetings.describe(user_id, [row])
        return json_answer(request, shapes.meeting(self.urls, items[0]))

    @app.route("/meeting-detail/<int:pk>/", methods=["PUT"], strict_slashes=False)
    @defer.inlineCallbacks
    def update_meeting(self, request, pk):
        user_id = yield self.caller(request)
        meetings = self.services.social_meetings
        if not _id(pk):
            raise Forbidden()
        yield meetings.check_owner(user_id, pk)  # before validation, as DRF's permission check
        values = forms.meeting(forms.body_dict(request), None)
        row = yield meetings.update(user_id, pk, values)
        items = yield meetings.describe(user_id, [row])
        return json_answer(request, shapes.meeting(self.urls, items[0]))

    @app.route("/meeting-types/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def meeting_types(self, request):
        yield self.caller(request)
        # upstream sends the pairs as a JSON *string*
        return shapes.envelope(request, 200, "ok", json.dumps([[k, v] for k, v in CATEGORIES.items()]))

    # -- join requests -----------------------------------------------------------------------
    @app.route("/meeting-confirm/<int:pk>/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def meeting_confirm(self, request, pk):
        user_id = yield self.caller(request)
        try:
            if not _id(pk):
                raise MeetingMissing("meeting does not exist")
            yield self.services.join_requests.request(user_id, pk)
        except MeetingMissing as e:
            return shapes.envelope(request, 404, e.message)
        except (DuplicateRequest, OwnMeeting) as e:
            return shapes.envelope(request, 400, e.message)
        return shapes.envelope(request, 200, "ok")

    @app.route("/confirms-list/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def confirms(self, request):
        user_id = yield self.caller(request)
        rows = yield self.services.join_requests.pending(user_id)
        meetings = self.services.social_meetings
        meeting_rows = yield meetings.get_many(r["meeting_id"] for r in rows)
        items = {i["meeting"]["id"]: i for i in (yield meetings.describe(user_id, meeting_rows))}
        users = {u["id"]: u for u in (yield self.services.accounts.get_many(r["user_id"] for r in rows))}
        return json_answer(request, [
            shapes.confirm(self.urls, r, users.get(r["user_id"]), items[r["meeting_id"]])
            for r in rows if r["meeting_id"] in items
        ])

    @app.route("/confirm-action/<int:pk>/", methods=["PUT"], strict_slashes=False)
    @defer.inlineCallbacks
    def confirm_action(self, request, pk):
        user_id = yield self.caller(request)
        if not _id(pk):
            raise Forbidden()
        yield self.services.join_requests.check_owner(user_id, pk)  # before validation
        changes = forms.confirm_action(forms.body_dict(request))
        try:
            row = yield self.services.join_requests.act(user_id, pk, changes)
        except Invalid as e:
            raise forms.FieldErrors({"non_field_errors": [e.message]})
        user = yield self.services.accounts.get(row["user_id"])
        return json_answer(request, shapes.confirm(self.urls, row, user))

    @app.route("/unread-confirms/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def unread_confirms(self, request):
        user_id = yield self.caller(request)
        count = yield self.services.join_requests.unread(user_id)
        # a JSON-encoded string at the seed's commit, as upstream
        return shapes.envelope(request, 200, "ok", json.dumps({"unread": count}))

    # -- chats -------------------------------------------------------------------------------
    @app.route("/chats-list/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def chats(self, request):
        user_id = yield self.caller(request)
        items = yield self.services.social_chats.list(user_id)
        return json_answer(request, [shapes.chat(self.urls, i) for i in items])

    @app.route("/message-list/<int:pk>/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def messages(self, request, pk):
        user_id = yield self.caller(request)
        try:
            if not _id(pk):
                raise ChatMissing("chat does not exist")
            rows = yield self.services.social_chats.messages(user_id, pk)
        except ChatMissing:
            return shapes.envelope(request, 404, "chat does not exist")
        except NotPermitted:
            return shapes.envelope(request, 400, "you can not see this chat")
        return json_answer(request, [shapes.message(self.urls, r) for r in rows])

    @app.route("/chat/<slug>/", strict_slashes=False)
    def chat_socket(self, request, slug):
        return websocket_resource(self.ws_factory, slug=slug)

"""The rooms door's REST routes. Every /v1/... path answers with or without a trailing slash."""

from __future__ import annotations

import uuid

from klein import Klein
from twisted.internet import defer

from meetsrv.core.accounts.limiter import LoginLimited
from meetsrv.core.errors import AlreadyExists, DomainError, UserNotFound, WrongCredentials
from meetsrv.core.chats.rooms import RoomNotFound
from meetsrv.doors.base import Door
from meetsrv.doors.rooms import shapes
from meetsrv.doors.rooms.chat import RoomChatSocket
from meetsrv.http.answers import header, json_answer, query_arg
from meetsrv.http.body import BodyError, parse_json, raw_body
from meetsrv.ws.factory import make_factory, websocket_resource

SESSION_KIND = "rooms"
MAX_LOGIN = 150


class Unauthorized(Exception):
    pass


class InvalidJson(Exception):
    pass


def _json_object(request) -> dict:
    try:
        value = parse_json(raw_body(request))
    except BodyError:
        raise InvalidJson()
    if not isinstance(value, dict):
        raise InvalidJson()
    return value


def _credentials(request) -> tuple[str, str]:
    body = _json_object(request)
    login, password = body.get("login"), body.get("password")
    if not isinstance(login, str) or not isinstance(password, str):
        raise InvalidJson()
    if not login or len(login) > MAX_LOGIN or not password or len(password) > 1024:
        raise InvalidJson()
    return login, password


def _require_user(user_id):
    if user_id is None:
        raise Unauthorized()
    return user_id


def _room_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise RoomNotFound()
    return int(raw)


class RoomsDoor(Door):
    name = "rooms"
    app = Klein()
    path_prefixes = ("/v1/",)

    def __init__(self, services):
        super().__init__(services)
        self.ws_factory = make_factory(
            self.settings, RoomChatSocket, door=self, hub=services.hub, clock=services.clock
        )

    # -- credential --------------------------------------------------------------------------
    def session_user(self, session_id):
        # a plain callback, not inlineCallbacks: this runs on every authenticated request
        return self.services.credentials.authenticate(session_id, (SESSION_KIND,)).addCallback(_require_user)

    def caller(self, request):
        return self.session_user(header(request, "x-session-id"))

    # -- errors ------------------------------------------------------------------------------
    @app.handle_errors(Unauthorized)
    def _unauthorized(self, request, failure):
        return shapes.error(request, "unauthorized", 401)

    @app.handle_errors(InvalidJson)
    def _invalid_json(self, request, failure):
        return shapes.error(request, "invalid_json")

    @app.handle_errors(DomainError)
    def _domain(self, request, failure):
        return shapes.error(request, failure.value.code)

    def not_found(self, request):
        return shapes.error(request, "not_found", 404)

    def method_not_allowed(self, request):
        return shapes.error(request, "method_not_allowed", 405)

    def unsupported_media_type(self, request):
        return shapes.error(request, "invalid_json")  # the document: a body that is not JSON

    def upgrade_required(self, request):
        return shapes.error(request, "upgrade_required", 426)

    # -- accounts ----------------------------------------------------------------------------
    @app.route("/v1/register/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def register(self, request):
        login, password = _credentials(request)
        try:
            user_id = yield self.services.accounts.register(login, password)
        except AlreadyExists:
            return shapes.error(request, "user_already_exists")
        session = yield self.new_session(user_id)
        return json_answer(request, {"session_id": session})

    @app.route("/v1/login/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def login(self, request):
        login, password = _credentials(request)
        try:
            user = yield self.services.accounts.password_login.check(login, password)
        except LoginLimited:
            return shapes.error(request, "too_many_attempts", 429)
        except (UserNotFound, WrongCredentials) as e:
            return shapes.error(request, e.code)
        session = yield self.new_session(user["id"])
        return json_answer(request, {"session_id": session})

    def new_session(self, user_id: int):
        # one session at a time, as upstream: a login ends the earlier ones
        return self.services.credentials.issue(user_id, SESSION_KIND, single=True, token=str(uuid.uuid4()))

    @app.route("/v1/logout/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def logout(self, request):
        user_id = yield self.caller(request)
        yield self.services.credentials.revoke_user(user_id, SESSION_KIND)
        return json_answer(request, {})

    @app.route("/v1/info/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def info(self, request):
        user_id = yield self.caller(request)
        user = yield self.services.accounts.get(user_id)
        return json_answer(request, shapes.user(user))

    @app.route("/v1/users/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def users(self, request):
        yield self.caller(request)
        found = yield self.services.accounts.search_username(query_arg(request, "q") or "")
        return json_answer(request, [shapes.user(u) for u in found])

    # -- rooms -------------------------------------------------------------------------------
    @app.route("/v1/rooms/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def rooms(self, request):
        user_id = yield self.caller(request)
        rooms = yield self.services.rooms.list(user_id)
        return json_answer(request, [shapes.room(r) for r in rooms])

    @app.route("/v1/rooms/", methods=["POST"], strict_slashes=False)
    @defer.inlineCallbacks
    def create_room(self, request):
        user_id = yield self.caller(request)
        body = _json_object(request)
        wanted = body.get("users")
        if not isinstance(wanted, list) or len(wanted) > 10000:
            raise InvalidJson()
        ids = []
        for item in wanted:
            if not isinstance(item, dict):
                raise InvalidJson()
            uid = item.get("id")
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise InvalidJson()
            ids.append(uid)
        room = yield self.services.rooms.create(user_id, ids)
        return json_answer(request, shapes.room(room))

    @app.route("/v1/rooms/<room_id>/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def room(self, request, room_id):
        user_id = yield self.caller(request)
        room = yield self.services.rooms.get(user_id, _room_id(room_id))
        return json_answer(request, shapes.room(room))

    @app.route("/v1/rooms/<room_id>/messages/", methods=["GET"], strict_slashes=False)
    @defer.inlineCallbacks
    def messages(self, request, room_id):
        user_id = yield self.caller(request)
        rid = _room_id(room_id)
        before = query_arg(request, "before")
        if before is not None and (not before.isdigit() or len(before) > 18):
            return shapes.error(request, "invalid_before")
        yield self.services.rooms.check_member(user_id, rid)
        rows = yield self.services.chats.history(rid, 50, int(before) if before else None)
        return json_answer(request, [shapes.message(r, rid) for r in rows])

    @app.route("/v1/rooms/<room_id>/chat/", strict_slashes=False)
    def chat(self, request, room_id):
        return websocket_resource(self.ws_factory, room_id=room_id)

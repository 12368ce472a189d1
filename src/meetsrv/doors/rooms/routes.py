"""The rooms door's REST routes. Every /v1/... path answers with or without a trailing slash."""

from __future__ import annotations

import uuid

from twisted.internet.defer import Deferred

from meetsrv.core.accounts.limiter import LoginLimited
from meetsrv.core.chats.rooms import RoomNotFound
from meetsrv.core.errors import AlreadyExists, DomainError, UserNotFound
from meetsrv.doors.base import Door, door_app
from meetsrv.doors.rooms import answers, models, shapes
from meetsrv.doors.rooms.chat import RoomChatSocket
from meetsrv.http.answers import json_answer
from meetsrv.http.at_once import at_once
from meetsrv.http.body import BodyError, json_object
from meetsrv.http.credentials import CredentialMissing, CredentialRefused, Header, authenticate
from meetsrv.http.idempotency import idempotent
from meetsrv.http.models import RequestInvalid, id_value, parse, query
from meetsrv.openapi import JSON, Api, WebSocket, operation
from meetsrv.ws.factory import make_factory, websocket_resource

SESSION_KIND = "rooms"
# the rooms door's code for a problem with these fields; any other problem is invalid_json
FIELD_CODES = {"before": "invalid_before"}
# a room id, as a client sends it (the path takes any text: anything else is room_not_found)
ROOM_ID = {"type": "integer", "minimum": 1}


def _room_id(raw: str) -> int:
    room_id = id_value(raw)
    if room_id is None:
        raise RoomNotFound()
    return room_id


class RoomsDoor(Door):
    name = "rooms"
    app = door_app()
    api = Api(
        title="meetsrv: rooms",
        description="Chat rooms (seed 004): JSON in and out, a session in the X-Session-Id header, "
                    "every refusal {\"error\": {\"code\": ...}}, and a chat WebSocket per room. "
                    "Every path answers with or without its trailing slash.",
        schemes={"session": {"type": "apiKey", "in": "header", "name": "X-Session-Id",
                             "description": "The session_id of sign-up or login."}},
        requirement=[{"session": []}],
        auth_answers={401: answers.Error},
        body_answers={422: answers.Error},
        query_answers={422: answers.Error},
        error=answers.Error,
        media=(JSON,),
        tags=(("/v1/rooms", "rooms"), ("/v1/", "accounts")),
    )
    path_prefixes = ("/v1/",)
    credentials = (Header("x-session-id"),)

    def __init__(self, services):
        super().__init__(services)
        self.ws_factory = make_factory(
            self.settings, RoomChatSocket, door=self, hub=services.hub, clock=services.clock
        )

    # -- credential --------------------------------------------------------------------------
    def check(self, credential):
        # the user id at once when the credential is cached, else a Deferred
        return self.services.credentials.user_of(credential.token, (SESSION_KIND,))

    def caller(self, request):
        return authenticate(request, self.credentials, self.check)

    # -- errors: one handler, the rooms door's {"error": {"code": ...}} ----------------------
    @app.handle_errors(CredentialMissing, CredentialRefused, RequestInvalid, BodyError, DomainError)
    def _error(self, request, failure):
        e = failure.value
        if isinstance(e, (CredentialMissing, CredentialRefused)):
            return shapes.error(request, "unauthorized", 401)
        if isinstance(e, RequestInvalid):
            return shapes.error(request, FIELD_CODES.get(e.first().field, "invalid_json"))
        if isinstance(e, BodyError):
            return shapes.error(request, "invalid_json")
        if isinstance(e, LoginLimited):
            return shapes.error(request, e.code, 429)
        return shapes.error(request, "user_already_exists" if isinstance(e, AlreadyExists) else e.code)

    def not_found(self, request):
        return shapes.error(request, "not_found", 404)

    def method_not_allowed(self, request):
        return shapes.error(request, "method_not_allowed", 405)

    def unsupported_media_type(self, request):
        return shapes.error(request, "invalid_json")  # the document: a body that is not JSON

    def upgrade_required(self, request):
        return shapes.error(request, "upgrade_required", 426)

    def problem(self, request, status, code, text):
        return shapes.error(request, code, status)

    # -- accounts ----------------------------------------------------------------------------
    @app.route("/v1/register/", methods=["POST"], strict_slashes=False)
    @operation("Sign up (and start a session)", {200: answers.Session}, body=models.Credentials, auth=False)
    async def register(self, request):
        given = parse(models.Credentials, json_object(request))
        user_id = await self.services.accounts.register(given.login, given.password, door="rooms")
        return json_answer(request, {"session_id": await self.new_session(user_id)})

    @app.route("/v1/login/", methods=["POST"], strict_slashes=False)
    @operation("Log in: a new session, the earlier ones end", {200: answers.Session, 429: answers.Error},
               body=models.Credentials, auth=False)
    async def login(self, request):
        given = parse(models.Credentials, json_object(request))
        user = await self.services.accounts.password_login.check(given.login, given.password)
        return json_answer(request, {"session_id": await self.new_session(user.id)})

    def new_session(self, user_id: int):
        # one session at a time, as upstream: a login ends the earlier ones
        return self.services.credentials.issue(user_id, SESSION_KIND, single=True, token=str(uuid.uuid4()))

    @app.route("/v1/logout/", methods=["POST"], strict_slashes=False)
    @operation("Log out: end the user's sessions", {200: answers.Nothing})
    async def logout(self, request):
        user_id = await self.caller(request)
        await self.services.credentials.revoke_user(user_id, SESSION_KIND)
        return json_answer(request, {})

    @app.route("/v1/info/", methods=["GET"], strict_slashes=False)
    @operation("The signed-in user", {200: answers.User})
    @at_once
    async def info(self, request):
        user_id = await self.caller(request)
        user = self.services.accounts.shown(user_id)
        if isinstance(user, Deferred):
            user = await user
        return json_answer(request, shapes.signed_in(user))

    @app.route("/v1/users/", methods=["GET"], strict_slashes=False)
    @operation("Find users by login", {200: list[answers.User]}, query=models.UserSearch)
    async def users(self, request):
        await self.caller(request)
        given = parse(models.UserSearch, query(request))
        found = await self.services.accounts.search_username(given.q)
        return json_answer(request, [shapes.user(u) for u in found])

    # -- rooms -------------------------------------------------------------------------------
    @app.route("/v1/rooms/", methods=["GET"], strict_slashes=False)
    @operation("The user's rooms, with how many messages of others each has unread", {200: list[answers.RoomItem]})
    async def rooms(self, request):
        user_id = await self.caller(request)
        rooms = await self.services.rooms.list(user_id)
        return json_answer(request, [shapes.room_item(r) for r in rooms])

    @app.route("/v1/rooms/", methods=["POST"], strict_slashes=False)
    @operation("Create a room with these users (the caller is a member)", {200: answers.Room}, body=models.NewRoom)
    @idempotent
    async def create_room(self, request):
        user_id = await self.caller(request)
        given = parse(models.NewRoom, json_object(request))
        if any(id_value(m.id) is None for m in given.users):
            raise UserNotFound("user not found")  # no user has an id the id column cannot hold
        room = await self.services.rooms.create(user_id, [m.id for m in given.users])
        return json_answer(request, shapes.room(room))

    @app.route("/v1/rooms/<room_id>/", methods=["GET"], strict_slashes=False)
    @operation("A room of the user", {200: answers.Room, 422: answers.Error}, variables={"room_id": ROOM_ID})
    @at_once
    async def room(self, request, room_id):
        user_id = await self.caller(request)
        room = self.services.rooms.get(user_id, _room_id(room_id))
        if isinstance(room, Deferred):
            room = await room
        return json_answer(request, shapes.room(room))

    @app.route("/v1/rooms/<room_id>/messages/", methods=["GET"], strict_slashes=False)
    @operation("A room's last 50 messages, newest first, or those before a message",
               {200: list[answers.Message], 422: answers.Error}, query=models.History, variables={"room_id": ROOM_ID})
    async def messages(self, request, room_id):
        user_id = await self.caller(request)
        rid = _room_id(room_id)
        given = parse(models.History, query(request))
        found = await self.services.rooms.history(user_id, rid, given.before)
        return json_answer(request, [shapes.message(m, rid) for m in found])

    @app.route("/v1/rooms/<room_id>/chat/", strict_slashes=False)
    @operation("The room's chat (WebSocket): post messages and mark them read; the other members' "
               "messages as they are stored", {}, auth=False, websocket=WebSocket(
                   receives=answers.Post | answers.Read, sends=answers.MessageOut | answers.Ack | answers.FrameError,
                   query=models.ChatHandshake,
                   refusals={400: "`after` is not a message id", 401: "no session, or an unknown one",
                             422: "not a room of the user"}),
               variables={"room_id": ROOM_ID})
    def chat(self, request, room_id):
        return websocket_resource(self.ws_factory, room_id=room_id)

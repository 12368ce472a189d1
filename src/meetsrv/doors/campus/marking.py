"""The marking WebSockets: /ws/mark_me?event_id= (wants to be marked) and /ws/marking?event_id=
(marks others). Refusals are sent as one error frame after the handshake, then the socket
closes, as upstream did. The rules live in meetsrv.core.meetings.marking."""

from __future__ import annotations

import json
import random
from urllib.parse import urlparse

from twisted.internet import defer
from twisted.logger import Logger

from meetsrv.core.meetings.marking import MARK_ME, MARKING, MarkingError, MarkingRefused, event_channel, user_channel
from meetsrv.http.credentials import read
from meetsrv.ws.protocol import DoorSocket, json_frame

log = Logger()

REFUSALS = {
    "no_event": "Выбери пару",
    "invalid_event": "Кажеся, пары не существует",
    "not_permitted": "Нельзя так!",
    "past_event": "Пара уже закончилась",
    "not_running": "Сейчас эта пара не идет",
}
ERRORS = {
    "no_message": "Нет сообщения",
    "missing_user": "user_id is missing",
    "already_have_user": "Ты уже выбрал пользователя",
    "user_taken": "Его уже отмечают",
    "nothing_prepared": "Нельзя так!",
}
DISPLAY_MESSAGES = (
    "Ты такой молодец, я не могу! ^_^' +50 к карме!",
    "Круто! +50 к карме!",
    "Огонь! +50 к карме!",
    "От души! +50 к карме!",
)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


class Frames:
    """What the core publishes, rendered in this door's words."""

    @staticmethod
    def user_joined(user_id: int) -> str:
        return _dumps({"result": "ok", "message": "user_joined", "params": {"user_id": user_id}})

    @staticmethod
    def user_left(user_id: int) -> str:
        return _dumps({"result": "ok", "message": "user_left", "params": {"user_id": user_id}})

    @staticmethod
    def was_marked(marker_id: int) -> str:
        return _dumps({"result": "ok", "message": "was_marked", "params": {"user_id": marker_id}})


def error(message: str) -> dict:
    return {"result": "error", "message": message}


class CampusSocket(DoorSocket):
    kind = ""
    # class defaults: a socket holds its own values only once they are set (ws/protocol.py)
    refusal: str | None = None
    event: dict | None = None
    _live = False
    _held_frames: list | tuple = ()  # frames from the hub held until the socket is live

    def caller(self, request):
        """The user of the door's credential (a Token header, or the session cookie from a page
        of this site); None without one."""
        door = self.factory.door
        credential = read(request, door.credentials)
        if credential is None or (credential.source == "cookie" and not self.same_site(request)):
            return defer.succeed(None)
        return defer.maybeDeferred(door.check, credential)

    def same_site(self, request) -> bool:
        """A browser sends the session cookie with a socket that any page opens; without an
        --allowed-origins list (which Autobahn enforces), accept the cookie only from a page of
        this site (Origin matching Host or the public URL) or from a client that sends no Origin."""
        door = self.factory.door
        origin = request.headers.get("origin")
        if not origin or door.settings.allowed_origins:
            return True
        netloc = urlparse(origin).netloc.lower()
        host = (request.headers.get("host") or "").lower()
        public = urlparse(door.services.base_url or "").netloc.lower()
        return bool(netloc) and netloc in (host, public)

    def authorize(self, request):
        return defer.ensureDeferred(self._authorize(request))

    async def _authorize(self, request):
        services = self.factory.door.services
        user_id = await self.caller(request)
        try:
            self.event = await services.marking.check_open(self.kind, request.params.get("event_id", []), user_id)
        except MarkingRefused as e:
            self.refusal = REFUSALS.get(e.code, REFUSALS["not_permitted"])
            return
        self.user_id = user_id
        # listening before the handshake completes: nothing published from now on is missed
        await self.listen()

    async def listen(self):
        pass

    # frames from the hub wait until this socket has said what it must say first
    def sendPreparedMessage(self, prepared):
        if not self._live:
            if not self._held_frames:
                self._held_frames = []
            self._held_frames.append(prepared)
            return
        super().sendPreparedMessage(prepared)

    def go_live(self):
        self._live = True
        held, self._held_frames = self._held_frames, ()
        for prepared in held:
            if not self._closed:
                self.sendPreparedMessage(prepared)

    def opened(self):
        if self.refusal is not None:
            self.send_json(error(self.refusal))
            self.sendClose(code=1000)
            return None
        return defer.ensureDeferred(self.started())

    async def started(self):
        self.go_live()


class MarkMeSocket(CampusSocket):
    """The student who wants to be marked: waits for `was_marked`, then the socket closes."""

    kind = MARK_ME

    async def listen(self):
        # listed before the handshake completes: once the client sees the socket open, every
        # marker can see it (and a marking that comes at once waits in the held frames)
        channel = user_channel(self.event["uuid"], self.user_id)
        await self.join(channel)
        try:
            await self.factory.door.services.marking.ask_to_be_marked(self.event, self.user_id, Frames)
        except MarkingRefused as e:  # a second socket of the same user won the race
            self.leave(channel)
            self.refusal = REFUSALS[e.code]

    def sendPreparedMessage(self, prepared):
        # the only thing published on this socket's channel is was_marked: send it, then close
        super().sendPreparedMessage(prepared)
        if self._live and not self._closed:
            self.sendClose(code=1000)

    def received(self, text):
        return None


class MarkingSocket(CampusSocket):
    """The student who marks others."""

    kind = MARKING
    marker = None

    async def listen(self):
        await self.join(event_channel(self.event["uuid"]))

    async def started(self):
        marking = self.factory.door.services.marking
        self.marker = marking.marker(self.event, self.user_id, self.conn_id, Frames)
        waiting = await marking.waiting(self.event)
        self.send_json({"result": "ok", "message": "marking_list", "params": {"marking_list": waiting}})
        self._held_frames = self._news_since(waiting, self._held_frames)
        self.go_live()

    @staticmethod
    def _news_since(waiting, held):
        """Updates that arrived while the list was read may already be in it: keep only those
        that change the list as the client now knows it (the last word on each user wins)."""
        known = set(waiting)
        out = []
        for prepared in held:
            try:
                frame = json.loads(prepared.payload)
                user_id = frame["params"]["user_id"]
                joined = frame["message"] == "user_joined"
            except Exception:
                out.append(prepared)
                continue
            if joined == (user_id in known):
                continue  # says nothing new
            (known.add if joined else known.discard)(user_id)
            out.append(prepared)
        return out

    def received(self, text):
        value = json_frame(text)
        message = value.get("message") if isinstance(value, dict) else None
        if self.marker is None or message not in ("prepare_to_mark", "confirm_marking", "refuse_to_mark"):
            self.send_json(error(ERRORS["no_message"]))
            return None
        if message == "prepare_to_mark":
            params = value.get("params")
            user_id = params.get("user_id") if isinstance(params, dict) else None
            # ASCII digits only: isdigit() also passes '²', which int() refuses
            if isinstance(user_id, str) and user_id.isascii() and user_id.isdigit() and len(user_id) <= 18:
                user_id = int(user_id)
            if not isinstance(user_id, int) or isinstance(user_id, bool):
                self.send_json(error(ERRORS["missing_user"]))
                return None
            d = defer.ensureDeferred(self.marker.prepare(user_id)).addCallback(lambda _: {"result": "ok", "message": "prepared"})
        elif message == "confirm_marking":
            d = defer.ensureDeferred(self.marker.confirm()).addCallback(lambda _: {
                "result": "ok", "message": "marked", "params": {"display_msg": random.choice(DISPLAY_MESSAGES)}
            })
        else:
            d = defer.ensureDeferred(self.marker.refuse()).addCallback(lambda _: {"result": "ok", "message": "refused"})
        return d.addCallbacks(self.send_json, self._refused)

    def _refused(self, failure):
        failure.trap(MarkingError)
        self.send_json(error(ERRORS.get(failure.value.code, ERRORS["no_message"])))

    def closed(self):
        if self.marker is not None:
            marker = self.marker
            # after whatever this socket was doing: a held user goes back on the list
            self.when_idle().addCallback(lambda _: defer.ensureDeferred(marker.leave())).addErrback(
                lambda f: log.failure("returning a held user failed", f)
            )

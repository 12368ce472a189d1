"""The doors' OpenAPI descriptions: valid OpenAPI 3.1, every route of each URL map described and
nothing more, served at /openapi/<door>.json, a documentation page per door at /docs/<door> that
loads only this server's files, and the WebSocket frames as their x-websocket schemas say.
(Answers against the described shapes: tests/test_schemathesis.py.)"""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import pytest_twisted
from klein import Klein

from meetsrv.doors.base import Door
from meetsrv.doors.campus import CampusDoor
from meetsrv.doors.directory import DirectoryDoor
from meetsrv.doors.phone import PhoneDoor
from meetsrv.doors.rooms import RoomsDoor
from meetsrv.doors.social import SocialDoor
from meetsrv.openapi import Api, operation
from meetsrv.openapi.generator import IMPLIED_METHODS, Undescribed, describe, openapi_path

DOORS = [RoomsDoor, SocialDoor, CampusDoor, PhoneDoor, DirectoryDoor]
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
def test_the_description_is_valid_openapi_3_1(door):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    document = describe(door)
    assert document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document).validate()
    # every operation says what it answers, with a JSON body unless it answers none
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert op["responses"] and op["summary"], (path, method)
            for status, answer in op["responses"].items():
                if status not in ("101", "204", "302") and "x-websocket" not in op:
                    assert "application/json" in answer.get("content", {}), (path, method, status)


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
def test_every_route_is_described_and_nothing_else(door):
    document = describe(door)
    routes = set()
    for rule in door.app.url_map.iter_rules():
        path, _ = openapi_path(rule.rule)
        methods = {m.lower() for m in (rule.methods or ())} - {m.lower() for m in IMPLIED_METHODS}
        described = {m for m in document["paths"].get(path, {}) if m in HTTP_METHODS}
        assert described, f"{door.name}: {rule.rule} is not described"
        if methods:
            assert described >= methods, (rule.rule, methods, described)
        routes |= {(path, m) for m in (methods or described)}
    operations = {(path, m) for path, item in document["paths"].items() for m in item if m in HTTP_METHODS}
    assert operations == routes
    # each path variable is a parameter of the operation, each operation has its own id
    ids = []
    for path, item in document["paths"].items():
        for op in item.values():
            ids.append(op["operationId"])
            variables = set(re.findall(r"{(\w+)}", path))
            assert variables == {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}, path
    assert len(ids) == len(set(ids))


def test_a_route_without_a_description_is_refused():
    class Undocumented(Door):
        name = "undocumented"
        app = Klein()
        api = Api("t", "d", {}, [])

        @app.route("/described/")
        @operation("described", {200: None}, auth=False)
        def described(self, request):
            return b""

        @app.route("/forgotten/<int:pk>/", methods=["DELETE"])
        def forgotten(self, request, pk):
            return b""

    with pytest.raises(Undescribed, match="/forgotten/<int:pk>/"):
        describe(Undocumented)


def test_request_models_and_credentials_reach_the_description():
    rooms = describe(RoomsDoor)
    register = rooms["paths"]["/v1/register/"]["post"]
    assert register["security"] == [{}]
    assert list(register["requestBody"]["content"]) == ["application/json"]
    credentials = rooms["components"]["schemas"]["Credentials"]
    assert credentials["required"] == ["login", "password"]
    assert credentials["properties"]["login"]["maxLength"] == 150
    info = rooms["paths"]["/v1/info/"]["get"]
    assert info["security"] == [{"session": []}]
    assert rooms["components"]["securitySchemes"]["session"] == {
        "type": "apiKey", "in": "header", "name": "X-Session-Id", "description": "The session_id of sign-up or login."}
    assert info["responses"]["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    history = rooms["paths"]["/v1/rooms/{room_id}/messages/"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in history] == [("room_id", "path", True),
                                                                      ("before", "query", False)]

    # a file only where the route takes one: multipart there, JSON and forms without the file
    phone = describe(PhoneDoor)
    body = phone["paths"]["/api/account/"]["patch"]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
    assert "avatar" not in body["application/json"]["schema"]["properties"]
    assert phone["components"]["schemas"]["AccountChanges"]["properties"]["avatar"]["format"] == "binary"
    assert set(phone["paths"]["/api/blacklist/"]["put"]["requestBody"]["content"]) == {
        "application/json", "application/x-www-form-urlencoded"}
    assert phone["paths"]["/api/account/"]["delete"]["responses"]["204"] == {"description": "No Content"}

    # campus: one method per RPC path, the envelope at HTTP 200 for success and refusal alike,
    # the session cookie with the CSRF header on POSTs
    campus = describe(CampusDoor)
    assert set(campus["paths"]["/api/events/JoinEvent"]) == {"post"}
    join = campus["paths"]["/api/events/JoinEvent"]["post"]
    assert join["security"] == [{"token": []}, {"session": [], "csrf": []}]
    assert set(join["responses"]) == {"200"}
    assert campus["paths"]["/api/events/GetEvents"]["get"]["security"] == [{"token": []}, {"session": []}, {}]
    failed = campus["components"]["schemas"]["Failed"]
    assert failed["properties"]["error"]["enum"] == [1, 2, 3, 4, 5, -1]

    directory = describe(DirectoryDoor)
    assert directory["components"]["securitySchemes"]["jwt"]["scheme"] == "bearer"
    events = {p["name"] for p in directory["paths"]["/api/events/"]["get"]["parameters"]}
    assert events == {"limit", "offset", "date", "date__gte", "date__lte", "ordering", "search"}

    # social: what a client sends where the door reads more (lat/lng/r, not the model's `near`)
    social = describe(SocialDoor)
    filters = [p["name"] for p in social["paths"]["/meetings-list/"]["get"]["parameters"]]
    assert filters == ["lat", "lng", "r", "category", "gender", "age_from", "age_to"]
    chat = social["paths"]["/chat/{slug}/"]["get"]
    assert set(chat["x-websocket"]) == {"receives", "sends"}
    assert {"101", "400", "401", "403", "426"} <= set(chat["responses"])


# -- served ---------------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_descriptions_are_served(server, http):
    for door in DOORS:
        r = await http.get(f"{server.url}/openapi/{door.name}.json")
        assert r.code == 200
        assert r.header("content-type") == "application/json; charset=utf-8"
        assert r.json == json.loads(json.dumps(describe(door)))
    for path in ("/openapi/nope.json", "/openapi/rooms", "/openapi/rooms.json/x", "/openapi/", "/openapi"):
        r = await http.get(server.url + path)
        assert (r.code, r.json) == (404, {"detail": "Not found."}), path


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "data-url"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1


@pytest_twisted.ensureDeferred
async def test_docs_pages_load_only_this_servers_files(server, http):
    for door in DOORS:
        page_url = f"{server.url}/docs/{door.name}"
        r = await http.get(page_url)
        assert r.code == 200 and r.header("content-type") == "text/html; charset=utf-8"
        policy = r.header("content-security-policy")
        assert "default-src 'self'" in policy and "script-src" not in policy
        assets = _Assets()
        assets.feed(r.body.decode())
        assert assets.inline_scripts == 0
        assert f"../openapi/{door.name}.json" in assets.urls
        for url in assets.urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, url  # this server's, wherever it is mounted
            r = await http.get(urljoin(page_url, url))
            assert r.code == 200, url
            assert len(r.body) > 100, url
    r = await http.get(server.url + "/docs/static/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in r.body and r.header("content-type").startswith("text/javascript")
    # the index lists every door; nothing else of the package is served
    r = await http.get(server.url + "/docs/")
    assert r.code == 200 and all(f'href="{d.name}"' in r.body.decode() for d in DOORS)
    for path in ("/docs/nope", "/docs/rooms/", "/docs/static/swagger-editor-bundle.js", "/docs/static/",
                 "/docs/static/../../openapi/rooms.json"):
        r = await http.get(server.url + path)
        assert (r.code, r.json) == (404, {"detail": "Not found."}), path
    r = await http.get(server.url + "/docs", follow_redirects=False)
    assert r.code == 302 and r.header("location") == "/docs/"


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="chromium is not installed (apt-get install -y chromium chromium-driver; .ci/run does)")
@pytest_twisted.ensureDeferred
async def test_a_docs_page_renders_in_a_real_browser(server, tmp_path):
    """Headless Chromium loads /docs/rooms: swagger-ui renders every operation of the description."""
    from twisted.internet import reactor, utils

    d = utils.getProcessOutputAndValue("chromium", [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000", "--dump-dom",
        server.url + "/docs/rooms",
    ], env={**os.environ, "HOME": str(tmp_path)})
    d.addTimeout(90, reactor)
    out, err, code = await d
    dom = out.decode("utf-8", "replace")
    assert code == 0, err[-2000:]
    assert "meetsrv: rooms" in dom, dom[-3000:]
    for op in ("Sign up (and start a session)", "A room's last 50 messages, newest first, or those before a message"):
        assert op in dom
    assert dom.count('class="opblock ') >= 9
    assert "Unable to render this definition" not in dom


# -- WebSocket frames -------------------------------------------------------------------------------

def frame_validator(document, schema):
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**schema, "components": document["components"]})


@pytest_twisted.ensureDeferred
async def test_rooms_chat_frames_match_their_description(server, http, ws):
    document = describe(RoomsDoor)
    socket = document["paths"]["/v1/rooms/{room_id}/chat/"]["get"]
    assert [p["name"] for p in socket["parameters"]] == ["room_id", "session_id", "after"]
    receives = frame_validator(document, socket["x-websocket"]["receives"])
    sends = frame_validator(document, socket["x-websocket"]["sends"])

    sessions = []
    for login in ("alice", "bob"):
        r = await http.post(server.url + "/v1/register/", json_body={"login": login, "password": "secret"})
        sessions.append(r.json["session_id"])
    r = await http.get(server.url + "/v1/users/?q=bob", headers={"X-Session-Id": sessions[0]})
    room = (await http.post(server.url + "/v1/rooms/", json_body={"users": [{"id": r.json[0]["id"]}]},
                            headers={"X-Session-Id": sessions[0]})).json
    url = f"{server.ws_url}/v1/rooms/{room['id']}/chat/?session_id="
    alice, bob = await ws(url + sessions[0]), await ws(url + sessions[1])
    frame = {"text": "Привет", "client_id": "c-1"}
    receives.validate(frame)
    alice.send_json(frame)
    ack = await alice.next_json()
    got = await bob.next_json()
    sends.validate(ack)
    sends.validate(got)
    assert ack == {"ack": "c-1", "id": got["id"]}
    read = {"read": got["id"]}
    receives.validate(read)
    bob.send_json(read)
    bob.send_text("not json")  # bob's frames are handled in order: once this is answered, the read took
    sends.validate(await bob.next_json())
    alice.send_text("not json")
    sends.validate(await alice.next_json())
    alice.send_json({"text": "", "client_id": "c-2"})
    refused = await alice.next_json()
    sends.validate(refused)
    assert refused["client_id"] == "c-2"
    assert not receives.is_valid({"text": ""}) and not receives.is_valid("not json")
    # the read mark took: bob's list has nothing unread
    r = await http.get(server.url + "/v1/rooms/", headers={"X-Session-Id": sessions[1]})
    assert r.json[0]["unread"] == 0


@pytest_twisted.ensureDeferred
async def test_directory_lobby_frames_match_their_description(server, http, ws):
    document = describe(DirectoryDoor)
    socket = document["paths"]["/ws/chat/"]["get"]
    sends = frame_validator(document, socket["x-websocket"]["sends"])
    body = {"email": "lobby@example.com", "password": "secret-password"}
    await http.post(server.url + "/api/user/sign-up/", json_body=body)
    access = (await http.post(server.url + "/api/user/sign-in/", json_body=body)).json["access"]
    sock = await ws(f"{server.ws_url}/ws/chat/?token={access}")
    for frame in ({"message": "hello"}, {"message": "again", "client_id": "c-1"}):
        frame_validator(document, socket["x-websocket"]["receives"]).validate(frame)
        sock.send_json(frame)
        sends.validate(await sock.next_json())
    for bad in ({"nothing": 1}, {"message": "x", "client_id": ""}):
        sock.send_json(bad)
        sends.validate(await sock.next_json())

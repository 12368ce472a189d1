"""The REST path's shortcuts: routes answered at once when nothing they await waits
(http/at_once.py), and the URL matches a door remembers (doors/base.py)."""

from __future__ import annotations

import pytest
from twisted.internet import defer, task
from werkzeug.exceptions import MethodNotAllowed, NotFound

from meetsrv.doors.base import RememberingMatcher, door_app
from meetsrv.http.at_once import at_once


def test_a_route_that_never_waits_answers_at_once():
    @at_once
    async def route(x):
        return (await defer.succeed(1)) + x

    assert route(2) == 3


def test_a_route_that_waits_goes_on_as_a_deferred_from_where_it_stopped():
    clock = task.Clock()
    first = defer.Deferred()
    steps = []

    @at_once
    async def route():
        steps.append("started")
        a = await defer.succeed(1)
        b = await first
        c = await task.deferLater(clock, 1, lambda: 100)
        return a + b + c

    d = route()
    assert isinstance(d, defer.Deferred) and not d.called and steps == ["started"]
    first.callback(10)
    clock.advance(1)
    assert d.result == 111 and steps == ["started"]  # run once, never restarted


def test_errors_come_out_where_a_route_stops():
    @at_once
    async def refuses():
        await defer.succeed(None)
        raise KeyError("now")

    with pytest.raises(KeyError):
        refuses()
    waiting = defer.Deferred()

    @at_once
    async def fails_later():
        try:
            await waiting
        except ZeroDivisionError:
            return "caught"

    d = fails_later()
    waiting.errback(ZeroDivisionError())
    assert d.result == "caught"


def test_a_door_remembers_the_paths_it_matched():
    app = door_app()

    @app.route("/things/<int:thing_id>/", methods=["GET"], strict_slashes=False)
    def thing(request, thing_id):
        return b""

    matcher = app.url_map._matcher
    assert isinstance(matcher, RememberingMatcher)
    adapter = app.url_map.bind("localhost")
    rule, values = adapter.match("/things/7/", method="GET", return_rule=True)
    assert (rule.rule, values) == ("/things/<int:thing_id>/", {"thing_id": 7})
    values["thing_id"] = 8  # what a caller does with its values does not change what is kept
    assert adapter.match("/things/7/", method="GET", return_rule=True)[1] == {"thing_id": 7}
    assert len(matcher._seen) == 1
    for path, method, error in (("/things/x/", "GET", NotFound), ("/things/7/", "POST", MethodNotAllowed),
                                ("/things/\u0663/", "GET", NotFound)):
        with pytest.raises(error):
            adapter.match(path, method=method)
    assert len(matcher._seen) == 1  # a path that did not match is not kept


class _Request:
    def __init__(self):
        self.code = None
        self.headers = {}

    def setResponseCode(self, code):
        self.code = code

    def setHeader(self, name, value):
        self.headers[name] = value


def test_a_kept_read_is_rendered_once():
    from meetsrv.http.answers import KeptAnswers

    answers = KeptAnswers(size=2)
    rendered = []

    def shape(value):
        rendered.append(value["id"])
        return {"id": value["id"], "name": value["name"]}

    kept = {"id": 1, "name": "Ann"}
    request = _Request()
    body = answers.answer(request, kept, shape)
    assert body == b'{"id":1,"name":"Ann"}' and request.code == 200
    assert request.headers[b"content-type"] == b"application/json; charset=utf-8"
    assert answers.answer(_Request(), kept, shape) is body and rendered == [1]
    # another value object (a kept read dropped and read again) is rendered again
    assert answers.answer(_Request(), {"id": 1, "name": "Bea"}, shape) == b'{"id":1,"name":"Bea"}'
    assert rendered == [1, 1]
    for i in range(3):
        answers.answer(_Request(), {"id": i, "name": ""}, shape)
    assert len(answers._bodies) <= 2

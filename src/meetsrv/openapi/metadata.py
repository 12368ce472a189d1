"""What a door says about itself beyond its routes and request models: each route's summary and
answers (`@operation`), and the door's credential and common answers (`Api`).

An answer is a type pydantic can describe (an answer model, `list[Model]`, a Union), a JSON
Schema dict used as it is, or None for an answer without a body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class WebSocket:
    """A WebSocket route: the handshake's query parameters and the frames both ways."""

    receives: Any  # a frame the client sends (text: JSON, or any text when a str schema)
    sends: Any  # the frames the server sends
    query: type | None = None  # the handshake's query parameters, as a model
    refusals: dict[int, str] = field(default_factory=dict)  # handshake refusals: status -> why


@dataclass(frozen=True)
class Operation:
    summary: str
    answers: dict[int, Any]  # status -> what the body is (None: no body)
    description: str | None = None
    body: type | None = None  # the request model of the body
    query: type | None = None  # the request model of the query string
    media: tuple[str, ...] | None = None  # the body's media types; None: the door's own
    content: dict | None = None  # a body no model reads: its OpenAPI content map, as it is
    auth: bool | str = True  # True, False, or "optional" (a credential is read when sent)
    method: str | None = None  # for a rule that takes any method: the one it serves
    headers: dict[int, dict] = field(default_factory=dict)  # status -> {header: description}
    variables: dict[str, dict] = field(default_factory=dict)  # path variable -> its schema, beyond the rule's
    websocket: WebSocket | None = None


def operation(summary: str, answers: dict[int, Any], **fields):
    """Route metadata: `@operation("Sign in", {200: Session}, body=models.Credentials)` under
    `@app.route(...)`; the generator reads it from the route's function."""
    described = Operation(summary, answers, **fields)

    def mark(fn):
        fn.openapi = described
        return fn

    return mark


@dataclass(frozen=True)
class Api:
    """A door's description: its title and text, its credential as security schemes, and the
    answers every route of a kind may give besides its own."""

    title: str
    description: str
    schemes: dict[str, dict]  # security scheme name -> OpenAPI security scheme
    requirement: list[dict]  # the security requirement of a route that needs the credential
    unsafe_requirement: list[dict] | None = None  # the same for POST, PUT, ... (a CSRF header)
    auth_answers: dict[int, Any] = field(default_factory=dict)  # routes that need the credential
    body_answers: dict[int, Any] = field(default_factory=dict)  # routes that read a body model
    query_answers: dict[int, Any] = field(default_factory=dict)  # routes that read a query model
    # the door's own answer to a path no route matches (a path variable out of its type: 404) and
    # to a plain request to a WebSocket path (426)
    error: Any = None
    # the body media types the door reads; multipart too on the routes of its `multipart_routes`
    media: tuple[str, ...] = (JSON, FORM)
    tags: tuple[tuple[str, str], ...] = ()  # (path prefix, tag): the first that matches


class Answer(BaseModel):
    """The base of a door's answer models: a JSON object with these members and no others."""

    model_config = ConfigDict(extra="forbid")

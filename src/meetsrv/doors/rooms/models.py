"""What the rooms door accepts (strict JSON types: anything else is invalid_json)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, StrictInt, StrictStr

from meetsrv.http.models import RequestModel, first, problem

MAX_LOGIN = 150


class Credentials(RequestModel):
    login: StrictStr = Field(min_length=1, max_length=MAX_LOGIN)
    password: StrictStr = Field(min_length=1, max_length=1024)


class Member(RequestModel):
    id: StrictInt  # any integer: one past the id column names no user (user_not_found)


class NewRoom(RequestModel):
    users: list[Member] = Field(max_length=10000)


def _message_id(values):
    value = first(values)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise problem("invalid_before")
    return int(value)


class UserSearch(RequestModel):
    """GET /v1/users/?q=<part of a login>"""

    q: Annotated[str, BeforeValidator(lambda v: first(v) or "")] = Field("", description="A part of the login.")


class History(RequestModel):
    """GET /v1/rooms/<id>/messages/?before=<message id>"""

    before: Annotated[int | None, BeforeValidator(_message_id)] = None


class ChatHandshake(RequestModel):
    """The chat socket's handshake: /v1/rooms/<id>/chat?session_id=<session>"""

    session_id: str = Field(description="The session from sign-up or login.")
    after: int = Field(None, ge=1, description="Resume: first every stored message with a larger id.")

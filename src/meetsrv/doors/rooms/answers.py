"""What the rooms door answers, described for its OpenAPI document (shapes.py builds them)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from meetsrv.openapi import Answer


class ErrorCode(Answer):
    code: str = Field(description="unauthorized, invalid_json, invalid_before, user_already_exists, "
                                  "wrong_credentials, room_not_found, login_limited, ...")


class Error(Answer):
    """Every refusal: {"error": {"code": ...}}."""

    error: ErrorCode


class Session(Answer):
    session_id: str = Field(description="Send it as the X-Session-Id header (or ?session_id= to the chat).")


class Nothing(Answer):
    """{}"""


class User(Answer):
    id: int
    login: str


class Room(Answer):
    id: int
    users: list[User]


class Message(Answer):
    id: int
    text: str
    user_id: int
    room_id: int
    created_at: str = Field(description="UTC to the second, without a zone: 2015-08-05T22:18:45")


class MessageIn(BaseModel):
    """A chat frame the client sends."""

    text: str = Field(min_length=1)


class MessageOut(Message):
    """A message of another member, as sent to the chat; a bad frame answers an Error."""

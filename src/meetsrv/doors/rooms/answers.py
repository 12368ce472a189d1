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


class RoomItem(Room):
    """A room in the caller's list."""

    unread: int = Field(description="How many messages of others the caller has not read.")


class Message(Answer):
    id: int
    text: str
    user_id: int
    room_id: int
    created_at: str = Field(description="UTC to the second, without a zone: 2015-08-05T22:18:45")


# -- the chat socket's frames ------------------------------------------------------------------
class Post(BaseModel):
    """Post a message; with a client_id the sender gets an Ack (on a repeat too: stored once)."""

    text: str = Field(min_length=1)
    client_id: str = Field(None, min_length=1, max_length=64)


class Read(BaseModel):
    """The caller has read the room up to this message."""

    read: int = Field(ge=1)


class Ack(Answer):
    ack: str = Field(description="The post's client_id.")
    id: int = Field(description="The stored message's id.")


class FrameError(Error):
    client_id: str = Field(None, description="The refused post's client_id, when it had one.")


class MessageOut(Message):
    """A message of another member, as the history shows it (with ?after=: the stored ones after it first)."""

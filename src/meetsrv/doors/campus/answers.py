"""What the campus door answers, described for its OpenAPI document (shapes.py builds them).

Every answer is HTTP 200 with the envelope {"error": code, "error_msg": text, "response": value}:
error 0 is success (with a response, or none), any other code a refusal without a response."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import Field

from meetsrv.openapi import Answer

T = TypeVar("T")


class Failed(Answer):
    """A refusal, HTTP 200: 1 invalid argument, 2 missing argument, 3 not permitted (and login
    required), 4 unsupported media type, 5 not found, -1 unknown error."""

    error: Literal[1, 2, 3, 4, 5, -1]
    error_msg: str


class Done(Answer):
    """Success without a response."""

    error: Literal[0]
    error_msg: str


class Ok(Answer, Generic[T]):
    """Success with its response."""

    error: Literal[0]
    error_msg: str
    response: T


def envelope(response: Any = None):
    """A method's answer: its response in an Ok envelope (or Done without one), or Failed."""
    return (Done if response is None else Ok[response]) | Failed


class CurrentUser(Answer):
    user_id: int | None = Field(description="null when not signed in")


class Profile(Answer):
    display_name: str
    pic: str
    confirmed: bool
    bio: str
    karma: int


class UserItem(Answer):
    user_id: int
    display_name: str


class Users(Answer):
    users: list[UserItem]


class Friend(UserItem):
    pending: bool


class Friends(Answer):
    friends: list[Friend]


class FriendRequests(Answer):
    requests: list[int] = Field(description="The ids of the users who asked.")


class EventCreated(Answer):
    event_id: str


class Event(Answer):
    name: str
    event_id: str
    time_from: int
    time_to: int
    creator_id: int | None


class CreatedEvent(Answer):
    name: str
    event_id: str
    time_from: int
    time_to: int


class JoinedEvent(CreatedEvent):
    creator: bool


# -- the marking sockets' frames -------------------------------------------------------------------
class MarkingParams(Answer):
    user_id: int | str


class MarkingIn(Answer):
    message: Literal["prepare_to_mark", "confirm_marking", "refuse_to_mark"]
    params: MarkingParams | None = Field(None, description="prepare_to_mark: the user to mark")


class MarkingOut(Answer):
    """{"result": "ok", "message": ..., "params": {...}} or {"result": "error", "message": ...}"""

    result: Literal["ok", "error"]
    message: str = Field(description="ok: marking_list, user_joined, user_left, was_marked, prepared, "
                                     "marked, refused; error: why")
    params: dict | None = None

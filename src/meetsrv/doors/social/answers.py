"""What the social door answers, described for its OpenAPI document (shapes.py builds them):
upstream's DRF serializers, DRF's error bodies, and its {"status", "msg", "data"} envelopes,
which are HTTP 200 whatever their `status` says."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, RootModel

from meetsrv.openapi import Answer


# -- errors -------------------------------------------------------------------------------------
class Detail(Answer):
    """DRF's {"detail": ...}"""

    detail: str


class FieldErrors(RootModel[dict[str, list[str]]]):
    """DRF's validation errors: {"field": ["message", ...]} (non_field_errors for the request as a whole)."""


class Envelope(Answer):
    """Upstream's JsonResponse, always HTTP 200: `status` is the logical status (200, 204, 400,
    404, 429), `msg` what happened, `data` the value (null on errors)."""

    status: int
    msg: str
    data: Any


class Href(Answer):
    href: str


class HrefEnvelope(Envelope):
    data: Href | None


class TextEnvelope(Envelope):
    """`data` is JSON encoded as a string (as upstream sent it), null on errors."""

    data: str | None


# -- users --------------------------------------------------------------------------------------
class Token(Answer):
    token: str = Field(description="Send it as `Authorization: Token <token>` (or ?token= to the chat).")
    href: str


class UserShort(Answer):
    id: int
    gender: int | None
    birth_date: str | None
    first_name: str
    about: str
    avatar: str
    href: str


class Photo(Answer):
    id: int
    photo: str
    set_avatar: str
    delete_photo: str


class UserExtended(Answer):
    id: int
    first_name: str
    about: str
    birth_date: str | None
    gender: int | None
    avatar: str
    photos: list[Photo]
    href: str


# -- meetings -----------------------------------------------------------------------------------
class Coordinates(Answer):
    lat: float
    lng: float


class MeetingBase(Answer):
    id: int
    title: str
    meeting_date: str
    description: str
    group_type: int
    category: int
    owner: UserExtended | None
    coordinates: Coordinates
    subway: None
    href: str
    color_status: Literal["mine", "approved", "disapproved"]


class Meeting(MeetingBase):
    confirms: dict = Field(description="Always {} (as upstream rendered it).")


class Confirm(Answer):
    """A join request, as its meeting's owner sees it."""

    id: int
    user: UserShort | None
    date_create: str
    is_approved: bool
    is_rejected: bool
    meeting: MeetingBase


class ConfirmActed(Answer):
    """A join request after the owner's action."""

    id: int
    user: UserShort | None
    date_create: str
    is_approved: bool
    is_rejected: bool
    is_read: bool


# -- chats --------------------------------------------------------------------------------------
class Message(Answer):
    id: int
    text: str
    author: UserShort | None
    is_read: bool
    is_received: bool
    date_create: str


class NoMessage(Answer):
    """The last message of a chat that has none."""

    text: Literal[""]
    author: UserShort | None
    is_read: bool
    is_received: bool


class Chat(Answer):
    id: int
    title: str
    owner: UserShort | None
    users: list[UserShort]
    channel_slug: str
    last_message: Message | NoMessage
    unread: int = Field(description="How many messages of others the caller has not read.")

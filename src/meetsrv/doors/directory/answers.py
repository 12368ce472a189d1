"""What the directory door answers, described for its OpenAPI document (shapes.py builds them):
DRF serializers, LimitOffsetPagination pages, simplejwt's token pairs and DRF's error bodies."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import Field, RootModel

from meetsrv.openapi import Answer

T = TypeVar("T")


class Detail(Answer):
    """DRF's {"detail": ...} (simplejwt adds its "code")."""

    detail: str
    code: str = Field(None, description="token_not_valid: the token is invalid or expired.")


class FieldErrors(RootModel[dict[str, list[str]]]):
    """DRF's validation errors: {"field": ["message", ...]} (non_field_errors for the request as a whole)."""


class Page(Answer, Generic[T]):
    """LimitOffsetPagination: `next` and `previous` are the URLs of the pages around it."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]


class TokenPair(Answer):
    access: str = Field(description="Send it as `Authorization: Bearer <access>` (or bare).")
    refresh: str = Field(description="For /api/user/refresh/, once.")


class User(Answer):
    id: int
    email: str | None
    telephone: str | None


class Organization(Answer):
    id: int
    title: str
    description: str | None
    address: str | None
    postcode: str | None
    all_address: str
    users: list[User]


class OrganizationMention(Answer):
    id: int
    title: str


class Event(Answer):
    id: int
    title: str
    description: str
    organizations: list[OrganizationMention]
    image: str | None
    date: str | None = Field(description="A date-time (UTC), or a date when the event has no time.")


class EventDetail(Event):
    organizations: list[Organization]


class PendingEvent(Answer):
    """A created event waits until save_at, then is saved."""

    id: int
    status: Literal["pending"]
    detail: str
    save_at: str
    status_url: str


class PendingStatus(Answer):
    id: int
    status: Literal["pending", "saved"]
    event: int | None = Field(description="The saved event's id.")
    save_at: str


class ChatMessage(Answer):
    id: int
    user: str | None = Field(description="The sender's email.")
    message: str
    created: str


class LobbyIn(Answer):
    message: str = Field(min_length=1, max_length=4000)
    client_id: str = Field(None, min_length=1, max_length=64,
                           description="Stored once per client_id; the sender's copy carries it.")


class LobbyMessage(Answer):
    id: int
    user: str | None = Field(description="The sender's email (else username, else id).")
    message: str
    client_id: str = Field(None, description="On the sender's own copy of a post with a client_id.")


class LobbyError(Answer):
    error: str
    client_id: str = Field(None, description="The refused post's client_id, when it had one.")

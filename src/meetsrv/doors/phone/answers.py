"""What the phone door answers, described for its OpenAPI document (shapes.py builds them):
upstream meetrack's DRF serializers and DRF's error bodies."""

from __future__ import annotations

from pydantic import Field, RootModel

from meetsrv.openapi import Answer


class Detail(Answer):
    """DRF's {"detail": ...}"""

    detail: str


class FieldErrors(RootModel[dict[str, list[str]]]):
    """DRF's validation errors: {"field": ["message", ...]} (non_field_errors for the request as a whole)."""


class CodeSent(Answer):
    is_new: bool = Field(description="No account has this phone yet: confirm with is_new, a name and an avatar.")


class SignedIn(Answer):
    token: str = Field(description="Send it as `Authorization: Token <token>`.")
    user_id: int


class Account(Answer):
    id: int
    name: str
    phone: str
    created: str
    hidden_phone: bool
    avatar: str | None


class OtherUser(Answer):
    """Another user: the phone only when the viewer may see it."""

    id: int
    name: str
    phone: str = Field(None, description="Absent when the user hides it from the viewer.")
    avatar: str | None


class Meeting(Answer):
    id: int
    title: str
    description: str | None
    logo: str | None
    time: str | None
    created: str
    completed: bool
    king: int | None = Field(description="The creator's id.")
    users: list[int]

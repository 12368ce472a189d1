"""The arguments of the campus door's methods, read as upstream's cast_arguments did.

An argument that is absent or null is missing (code 2 with its name; on /accounts/ it is bad
input, code 1, "<name> is required"); one that cannot be cast is code 1 with the cast's own
message (Python's int(), or "<name> must be a string"). Casts are checked before presence.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, ValidationInfo, WithJsonSchema

from meetsrv.http.models import RequestModel, ascii_int, problem


def _present(value):
    if value is None:
        raise problem("missing")
    return value


def as_int(value):
    """int() as upstream's cast_arguments applied it, of ASCII digits only (int() also reads '٣'
    and '1_000'); int()'s message on failure."""
    if isinstance(value, bool):
        raise problem("int", f"invalid literal for int() with base 10: '{value}'")
    if isinstance(value, str) and ascii_int(value) is None:
        raise problem("int", f"invalid literal for int() with base 10: {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError) as e:
        raise problem("int", str(e))


def as_text(value, info: ValidationInfo):
    if not isinstance(value, str):
        raise problem("text", f"{info.field_name} must be a string")
    return value


def _optional(cast):
    return lambda value, info: None if value is None else cast(value, info)


Required = Annotated[Any, BeforeValidator(_present)]
Text = Annotated[str, BeforeValidator(lambda v, info: as_text(_present(v), info))]
OptionalText = Annotated[str | None, BeforeValidator(_optional(as_text))]
Int = Annotated[int, BeforeValidator(lambda v: as_int(_present(v)))]


class Arguments(RequestModel):
    # /accounts/ answers a missing argument as bad input (CONTRACT.md)
    missing_is_invalid: ClassVar[bool] = False


class NoArguments(Arguments):
    pass


class Credentials(Arguments):
    missing_is_invalid: ClassVar[bool] = True
    username: Text
    password: Text


class AccountsCall(Arguments):
    missing_is_invalid: ClassVar[bool] = True


# what a client sends (WithJsonSchema: the OpenAPI description) where the door reads any value
USER_ID = WithJsonSchema({"type": "integer", "minimum": 1, "description": "A user's id."})
EVENT_ID = WithJsonSchema({"type": "string", "format": "uuid", "description": "An event's event_id."})
IMAGE = WithJsonSchema({"type": "string", "description": "A multipart file, or its bytes in base64 "
                                                         "(a data: URL prefix is accepted)."})


class UserId(Arguments):
    user_id: Annotated[Required, USER_ID]


class Picture(Arguments):
    image: Annotated[Required, IMAGE]
    name: Text


class Confirmation(Arguments):
    image: Annotated[Required, IMAGE]
    name: OptionalText = None


class ProfileInfo(Arguments):
    display_name: OptionalText = None
    bio: OptionalText = None


class NamePart(Arguments):
    display_name_part: OptionalText = None


class NewEvent(Arguments):
    name: Text
    time_from: Int
    time_to: Int


class EventId(Arguments):
    event_id: Annotated[Required, EVENT_ID]


class EventName(Arguments):
    name: OptionalText = None


# -- what no model reads here (the OAuth sign-in's and the marking sockets' query strings) --------
class OAuthStart(Arguments):
    next: str | None = Field(None, description="A path of this site to go to once signed in.")


class OAuthCallback(Arguments):
    code: str | None = Field(None, description="The provider's authorization code.")
    state: str | None = Field(None, description="The state of the sign-in's start.")
    error: str | None = Field(None, description="The provider's error, instead of a code.")


class MarkingHandshake(Arguments):
    event_id: Annotated[str, EVENT_ID]

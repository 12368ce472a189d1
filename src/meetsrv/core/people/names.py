"""Display names: one rule for every door that sets one, with each door's limits as parameters.

The limits are the columns of each door's upstream (its clients were built against them); the
services that set a name are given their door's rule when services.py builds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from meetsrv.core.errors import Invalid

# problem code -> the words of the error message ("display_name is too long")
_WORDS = {"required": "is required", "blank": "is empty", "max_length": "is too long"}


class DisplayNameInvalid(Invalid):
    """A display name the rule refuses. `problem`: required, blank or max_length; `field`: the
    name the door calls it; `max_length`: the rule's limit (doors word their own message)."""

    code = "invalid_display_name"

    def __init__(self, field: str, problem: str, max_length: int):
        super().__init__(f"{field} {_WORDS[problem]}", field=field, problem=problem, max_length=max_length)
        self.field = field
        self.problem = problem
        self.max_length = max_length


@dataclass(frozen=True)
class DisplayNameRule:
    max_length: int
    # an empty (or all-blank) name is allowed: the social app clears its first name that way
    allow_blank: bool = False

    def problem(self, name: str | None) -> str | None:
        """required, blank, max_length, or None for a good name."""
        if name is None:
            return "required"
        if not self.allow_blank and not name.strip():
            return "blank"
        if len(name) > self.max_length:
            return "max_length"
        return None

    def check(self, name: str | None, field: str = "name") -> str:
        """The name, or DisplayNameInvalid."""
        problem = self.problem(name)
        if problem is not None or name is None:
            raise DisplayNameInvalid(field, problem or "required", self.max_length)
        return name


# social: Django's User.first_name (max_length 30; blank allowed)
SOCIAL_NAME = DisplayNameRule(30, allow_blank=True)
# campus: UserProfile.display_name, CharField(128)
CAMPUS_NAME = DisplayNameRule(128)
# phone: meetrack's User.name, CharField(255)
PHONE_NAME = DisplayNameRule(255)

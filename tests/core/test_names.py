"""The display-name rule without HTTP: one rule, each door's limits as parameters."""

from __future__ import annotations

import pytest

from meetsrv.core.people.names import CAMPUS_NAME, PHONE_NAME, SOCIAL_NAME, DisplayNameInvalid, DisplayNameRule


@pytest.mark.parametrize("rule, limit", [(SOCIAL_NAME, 30), (CAMPUS_NAME, 128), (PHONE_NAME, 255)])
def test_each_door_limit_is_a_parameter_of_the_one_rule(rule, limit):
    assert rule.max_length == limit
    assert rule.check("ж" * limit) == "ж" * limit
    with pytest.raises(DisplayNameInvalid) as caught:
        rule.check("ж" * (limit + 1), "first_name")
    e = caught.value
    assert (e.field, e.problem, e.max_length, e.message) == ("first_name", "max_length", limit, "first_name is too long")


def test_blank_and_missing_names():
    rule = DisplayNameRule(5)
    assert [rule.problem(n) for n in (None, "", "  \t", " ab ", "abcdef")] == [
        "required", "blank", "blank", None, "max_length"]
    with pytest.raises(DisplayNameInvalid) as caught:
        rule.check(" ", "display_name")
    assert caught.value.message == "display_name is empty"
    # the social app clears its first name with an empty one
    assert SOCIAL_NAME.check("") == ""
    assert SOCIAL_NAME.problem(None) == "required"

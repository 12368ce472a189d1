"""Meetings: social meetings and join requests, campus events and marking, phone meetings,
directory events and organizations. One table, one module per door-specific rule set."""

"""The campus door (seed 001): RPC /api/<area>/<Method>, always HTTP 200 with the envelope,
session cookies (+ CSRF) or `Authorization: Token`, and the marking WebSockets."""

from meetsrv.doors.campus.routes import CampusDoor

__all__ = ["CampusDoor"]

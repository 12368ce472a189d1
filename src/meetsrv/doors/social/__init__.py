"""The social door (seed 000, "LetsGo"): DRF-style paths with a trailing slash, Token header,
many answers HTTP 200 with {"status","msg","data"}, and a meeting chat WebSocket."""

from meetsrv.doors.social.routes import SocialDoor

__all__ = ["SocialDoor"]

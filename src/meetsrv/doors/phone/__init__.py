"""The phone door (seed 002, upstream meetrack): DRF REST with SMS sign-in and `Token` auth."""

from meetsrv.doors.phone.routes import PhoneDoor

__all__ = ["PhoneDoor"]

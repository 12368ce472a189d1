"""What counts as an outage: the database or Redis could not be reached or did not answer in
time. A request that meets one is answered 503 in its door's style (worth trying again), never
500."""

from __future__ import annotations

import sys

from meetsrv.store.db import is_unavailable


def is_outage(exc: BaseException) -> bool:
    # the bus raises BusUnavailable, a ConnectionError, which is_unavailable counts
    if is_unavailable(exc):
        return True
    # txredisapi is only imported once a Redis bus is built (it imports the reactor)
    txredisapi = sys.modules.get("txredisapi")
    return txredisapi is not None and isinstance(exc, txredisapi.ConnectionError)

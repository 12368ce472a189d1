"""Routes that answer at once when nothing they await has to wait.

An `async def` route handed to Klein always costs a Deferred, Twisted's coroutine driver and a
chain of callbacks, even when every value it awaits is already there (a cached credential, a
kept read). `@at_once` runs the coroutine up to its first real wait: a route that never waits
returns its answer (or raises) right there, like a plain route; one that waits goes on as any
`async def` route, under Deferred.fromCoroutine, from the await it stopped at.
"""

from __future__ import annotations

import functools

from twisted.internet.defer import Deferred


def settle(coroutine):
    """The coroutine's value if it ends without waiting (its exception raised here if it
    fails so); else a Deferred of its value."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    # it stopped at `await <a Deferred that has not fired>`: sending None again resumes that
    # await, which answers the Deferred's result once it has one (Deferred.__await__)
    return Deferred.fromCoroutine(coroutine)


def at_once(route):
    """An `async def` route (or any coroutine function) run through `settle`."""

    @functools.wraps(route)
    def run(*args, **kwargs):
        return settle(route(*args, **kwargs))

    return run

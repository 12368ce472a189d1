"""Bounded waiting for what no task.Clock can hurry: the network, Redis, real processes, threads."""

from __future__ import annotations


async def until(predicate, timeout: float = 10.0, step: float = 0.01) -> None:
    """Poll `predicate` every `step` seconds of real time until it holds; AssertionError after
    `timeout` seconds."""
    from twisted.internet import reactor, task

    waited = 0.0
    while not predicate():
        assert waited < timeout, "condition not met in time"
        await task.deferLater(reactor, step, lambda: None)
        waited += step


def in_thread(fn, *args):
    """Blocking work (alembic, a psycopg2 connection) off the reactor thread: a Deferred."""
    from twisted.internet import threads

    return threads.deferToThread(fn, *args)

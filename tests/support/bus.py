"""A server's bus with its chat publishes held by the test."""

from __future__ import annotations


class HeldBus:
    """Wraps a server's bus.publish: chat publishes go through `hook(channel, payload, publish)`."""

    def __init__(self, server, hook):
        self.bus = server.services.bus
        self.publish = self.bus.publish
        self.hook = hook
        self.calls = 0
        self.bus.publish = self

    def __call__(self, channel, payload):
        if not channel.startswith("chat:"):
            return self.publish(channel, payload)
        self.calls += 1
        return self.hook(self.calls, channel, payload, self.publish)

    def restore(self):
        self.bus.publish = self.publish

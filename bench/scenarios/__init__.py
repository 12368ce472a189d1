"""The scenarios, in the order they run. Each is run(ctx) -> dict (JSON-ready)."""

from bench.scenarios import chat, conns, fanout, growth, rest

SCENARIOS = {
    "rest": rest.run,
    "fanout": fanout.run,
    "chat": chat.run,
    "conns": conns.run,
    "growth": growth.run,
}

"""The scenarios, in the order they run. Each is run(ctx) -> dict (JSON-ready). Those in OPT_IN
run only when named (--only)."""

from bench import faults
from bench.scenarios import chat, conns, fanout, growth, rest, workers

SCENARIOS = {
    "rest": rest.run,
    "fanout": fanout.run,
    "chat": chat.run,
    "conns": conns.run,
    "workers": workers.run,
    "growth": growth.run,
    "faults": faults.run,
}
# kill -9, Redis and PostgreSQL outages (bench/faults/): counts, not speed; `python -m bench.faults`
OPT_IN = {"faults"}

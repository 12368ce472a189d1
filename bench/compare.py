"""python -m bench.compare OTHER_TREE [--only rest,chat] [--rounds 2] [--full] [--out DIR]

Two source trees side by side in one run: this checkout ("after") and OTHER_TREE ("before", a
checkout of an earlier commit with its own .venv, e.g. `git worktree add ../before <commit>`).
Each scenario runs in both trees, alternately (before, after, after, before, ...), each time
through that tree's own `python -m bench`, so the two are measured close in time under the
same noise. The report gives every target figure of both, as medians of the rounds, and
after/before.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import BENCH, ROOT, machine

DEFAULT_SCENARIOS = ["rest", "fanout", "chat", "conns", "growth"]

# a figure the two trees' benches name differently -> one name (the rooms door's REST targets
# gained a "rooms:" prefix when the other doors got profiles)
ALIASES = {
    "REST rooms: detail GET /v1/info / bare Klein (req/s)": "REST detail GET /v1/info / bare Klein (req/s)",
    "REST rooms: detail GET /v1/rooms/<id> / bare Klein (req/s)": "REST detail GET /v1/rooms/<id> / bare Klein (req/s)",
    "REST rooms: detail GET /v1/info / bare twisted.web (req/s)": "REST detail GET /v1/info / bare twisted.web (req/s)",
    "REST rooms: rooms list GET /v1/rooms (10 rooms) / bare Klein (req/s)": "REST list GET /v1/rooms / bare Klein (req/s)",
}


def figures_of(data: dict) -> dict[str, float]:
    """The target figures of one run's report.json, and the absolute figures behind them."""
    out: dict[str, float] = {}
    for t in data.get("targets", []):
        if isinstance(t.get("value"), (int, float)) and not isinstance(t.get("value"), bool):
            out[ALIASES.get(t["figure"], t["figure"])] = float(t["value"])
    scenarios = data.get("scenarios", {})
    for key, r in (scenarios.get("rest", {}).get("results") or {}).items():
        if isinstance(r, dict) and isinstance(r.get("rps"), (int, float)):
            out[f"REST {key.removeprefix('rooms.')}: req/s"] = float(r["rps"])
    for config, r in (scenarios.get("chat", {}).get("results") or {}).items():
        if isinstance(r, dict) and isinstance(r.get("capacity_msgs_per_cpu_s"), (int, float)):
            out[f"chat {config}: messages per server CPU-second"] = float(r["capacity_msgs_per_cpu_s"])
            out[f"chat {config}: p99 delivery ms"] = float(r["p99_ms"])
    for members, r in (scenarios.get("fanout") or {}).items():
        if isinstance(r, dict) and isinstance(r.get("meetsrv_last_ms"), (int, float)):
            out[f"fan-out to {int(members):,}: meetsrv ms to the last member"] = float(r["meetsrv_last_ms"])
    return out


def run_scenario(tree: Path, scenario: str, mode: str, out: Path) -> None:
    python = tree / ".venv" / "bin" / "python"
    cmd = [str(python if python.exists() else sys.executable), "-m", "bench", "--only", scenario, "--out", str(out)]
    if mode == "quick":
        cmd.append("--quick")
    subprocess.run(cmd, cwd=tree, check=False)


def commit_of(tree: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True,
                          text=True).stdout.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", help="the other source tree (an earlier commit's checkout)")
    ap.add_argument("--only", help="comma-separated scenarios (default: " + ",".join(DEFAULT_SCENARIOS) + ")")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each scenario in each tree")
    ap.add_argument("--full", action="store_true", help="full sizes instead of --quick")
    ap.add_argument("--out", help="result folder (default bench/results/compare)")
    ap.add_argument("--render", action="store_true", help="only write the report again from the runs in --out")
    args = ap.parse_args(argv)
    trees = {"before": Path(args.before).resolve(), "after": ROOT}
    mode = "full" if args.full else "quick"
    scenarios = args.only.split(",") if args.only else DEFAULT_SCENARIOS
    out = Path(args.out) if args.out else BENCH / "results" / "compare"
    out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if not args.render:
        for scenario in scenarios:
            for round_no in range(args.rounds):
                sides = ["before", "after"] if round_no % 2 == 0 else ["after", "before"]
                for side in sides:
                    print(f"== {scenario} round {round_no + 1}: {side} ({trees[side]})", flush=True)
                    run_scenario(trees[side], scenario, mode, out / "runs" / f"{scenario}-{side}-{round_no}")
    # figures[figure][side] = values over rounds, in the order first seen
    figures: dict[str, dict[str, list[float]]] = {}
    for scenario in scenarios:
        for round_no in range(args.rounds):
            for side in ("before", "after"):
                path = out / "runs" / f"{scenario}-{side}-{round_no}" / "report.json"
                if not path.exists():
                    continue
                for name, value in figures_of(json.loads(path.read_text())).items():
                    figures.setdefault(name, {"before": [], "after": []})[side].append(value)
    order = list(figures)
    rows = []
    for name in order:
        before, after = figures[name]["before"], figures[name]["after"]
        b = statistics.median(before) if before else None
        a = statistics.median(after) if after else None
        rows.append({"figure": name, "before": b, "after": a, "before_rounds": before, "after_rounds": after,
                     "after_over_before": (a / b) if a is not None and b else None})
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if args.render:  # the runs' own times
        runs = [json.loads(p.read_text()) for p in (out / "runs").glob("*/report.json")]
        started = min((r.get("started", started) for r in runs), default=started)
        finished = max((r.get("finished", finished) for r in runs), default=finished)
    result = {"mode": mode, "started": started, "finished": finished,
              "machine": machine(), "before": {"tree": str(trees["before"]), "commit": commit_of(trees["before"])},
              "after": {"tree": str(ROOT), "commit": commit_of(ROOT)}, "rows": rows}
    (out / "compare.json").write_text(json.dumps(result, indent=1))
    (out / "compare.md").write_text(markdown(result))
    print(markdown(result))
    return 0


def _f(v) -> str:
    return "—" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}")


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"# meetsrv: before ({result['before']['commit']}) and after ({result['after']['commit']}), one run",
        "",
        f"{result['mode']} sizes, started {result['started']}, finished {result['finished']}; "
        f"{m.get('nproc', '?')} CPUs ({m.get('cpu_model', '')}), load average at start {' '.join(m.get('loadavg_start', []))}. "
        "Each scenario ran alternately in both trees; medians of the rounds.",
        "",
        "| figure | before | after | after / before | rounds before | rounds after |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(f"| {r['figure']} | {_f(r['before'])} | {_f(r['after'])} | {_f(r['after_over_before'])} "
                     f"| {', '.join(_f(v) for v in r['before_rounds'])} | {', '.join(_f(v) for v in r['after_rounds'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

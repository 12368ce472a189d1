"""The fault bench's report: the figures with target 0, the details, a timeline per fault."""

from __future__ import annotations

import json
from pathlib import Path

FIGURES = [
    ("lost", "lost"),
    ("duplicated", "duplicated"),
    ("reordered", "reordered"),
    ("revoked_honoured", "revoked sessions honoured"),
    ("echoed", "echoed to the sender"),
    ("acked_not_stored", "acked, not in the database"),
]
DESCRIPTIONS = {
    "none": "no fault (control)",
    "kill": "kill -9 of process A; its clients resume on B",
    "redis": "Redis killed, restarted empty; sockets stay",
    "postgres": "PostgreSQL connections cut and refused",
}


def targets(section: dict) -> list[dict]:
    """Every figure of every run, target 0."""
    rows = []
    for fault, r in (section.get("results") or {}).items():
        if "error" in r:
            continue
        for key, label in FIGURES:
            rows.append({"figure": f"faults, {fault}: {label}", "value": r[key], "target": "0",
                         "met": r[key] == 0, "note": ""})
    return rows


def _ms(r, key):
    values = [r.get(f"{key}_{p}_ms") for p in ("p50", "p99", "max")]
    return " / ".join("–" if v is None else f"{v:,.0f}" for v in values)


def section(data: dict, level: str = "##") -> list[str]:
    s = data
    if "skipped" in s:
        return [f"{level} Faults", "", f"Skipped: {s['skipped']}", ""]
    p = s["params"]
    results = s["results"]
    out = [f"{level} Faults: two processes on PostgreSQL + Redis under chat load", "",
           f"{p['rooms']} rooms of {p['room_size']} members (half of each room on process A, half on B), "
           f"{p['rate']} messages a second offered in all, one at a time per member with a client_id, the next "
           f"once acknowledged; unacknowledged messages sent again (3 s, or 0.5 s after an error frame, or on "
           f"reconnect); closed sockets reconnect to the other process with ?after=. Fault at "
           f"{p['warmup']:.0f} s for {p['outage']:.0f} s, then {p['recovery']:.0f} s of chat, then a drain "
           f"(at most {p['drain']:.0f} s) and {p['settle']:.0f} s for the last frames. {p['revoked']} other "
           "users log out during the outage; their sessions were used on both processes before.", "",
           "**Lost**: acknowledged, never delivered to a member of the room (every member stayed or "
           "resumed). **Duplicated**: a message id a member received again. **Reordered**: an id smaller "
           "than one the member received before. **Revoked sessions honoured**: logouts answered 2xx, "
           "then a process still accepting that session. **Echoed**: a message sent back on the socket "
           "that posted it (the rooms door does not echo). **Acked, not in the database**: acknowledged "
           "ids the database does not hold.", "",
           "| fault | " + " | ".join(label for _, label in FIGURES) + " |",
           "|---|" + "---|" * len(FIGURES)]
    for fault, r in results.items():
        if "error" in r:
            out.append(f"| {fault} | " + " | ".join(["error"] * len(FIGURES)) + " |")
            continue
        cells = [f"**{r[k]}**" if r[k] else "0" for k, _ in FIGURES]
        out.append(f"| {fault}: {DESCRIPTIONS.get(fault, '')} | " + " | ".join(cells) + " |")
    out += ["", "| fault | sent | acked | unacked at end | sent again | frames / expected | reconnects "
            "(failed tries) | error frames | ack ms p50 / p99 / max | delivery ms p50 / p99 / max | "
            "logouts (s each) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for fault, r in results.items():
        if "error" in r:
            out.append(f"| {fault} | {r['error']} |" + " |" * 9)
            continue
        rv = r["revoked"]
        out.append(
            f"| {fault} | {r['sent']:,} | {r['acked']:,} | {r['unacked_at_end']} | {r['resent']:,} "
            f"| {r['frames_received']:,} / {r['deliveries_expected']:,} | {r['reconnects']} ({r['failed_connects']}) "
            f"| {r['error_frames']} | {_ms(r, 'ack')} | {_ms(r, 'delivery')} "
            f"| {rv['logged_out']}/{rv['sessions']} through {rv['through']} "
            f"({', '.join(f'{t:.1f}' for t in rv['logout_seconds'])}; answers "
            f"{', '.join(f'{n}× {c}' for c, n in rv.get('statuses', {}).items())}) |")
    out.append("")
    for fault, r in results.items():
        if "error" in r or not r.get("timeline"):
            continue
        ev = r["events"]
        when = ("no fault; the logouts at" if fault == "none" else "outage") + \
            f" {ev['fault_start_s']}–{ev['fault_end_s']} s"
        out += [f"Timeline, {fault} ({when}, clients stop at {ev['stop_s']} s; per second):", "", "```",
                "acks   " + " ".join(f"{a:>4}" for _, a, _, _ in r["timeline"]),
                "frames " + " ".join(f"{f:>4}" for _, _, f, _ in r["timeline"]),
                "open   " + " ".join(f"{c:>4}" for _, _, _, c in r["timeline"]), "```", ""]
        if r.get("lost_examples"):
            out += ["Lost, first examples: " + json.dumps(r["lost_examples"]), ""]
        if r.get("process_exits"):
            out += [f"Processes that exited on their own: {r['process_exits']}", ""]
    return out


def markdown(data: dict) -> str:
    m = data["machine"]
    out = ["# meetsrv fault bench", "",
           f"Started {data['started']}, took {data.get('elapsed_s', '?')} s. Commit `{m.get('commit')}`. "
           f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory']} RAM; Python {m['python']}, Twisted "
           f"{m['twisted']}, Autobahn {m['autobahn']}. Load average at start "
           f"{' '.join(m.get('loadavg_start', []))}, at end {' '.join(m.get('loadavg_end', []) or [])} (the "
           "machine is shared: rates and latencies are noisy; the counts are the result).", ""]
    out += section(data["scenarios"]["faults"])
    if data.get("plots"):
        out.append("Plots: " + ", ".join(f"![{p}]({p})" for p in data["plots"]))
    return "\n".join(out) + "\n"


def plot(section: dict, out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    runs = [(f, r) for f, r in (section.get("results") or {}).items() if "timeline" in r]
    if not runs:
        return []
    fig, axes = plt.subplots(len(runs), 1, figsize=(8, 2.2 * len(runs)), sharex=True, squeeze=False)
    for ax, (fault, r) in zip(axes[:, 0], runs):
        t = [row[0] for row in r["timeline"]]
        ax.plot(t, [row[1] for row in r["timeline"]], label="acks/s", color="#27a")
        ax.plot(t, [row[2] / 10 for row in r["timeline"]], label="frames/s ÷ 10", color="#2a7")
        ev = r["events"]
        if fault != "none":
            ax.axvspan(ev["fault_start_s"], ev["fault_end_s"], color="#f88", alpha=0.3, label="outage")
        ax.set_title(f"{fault}: lost {r['lost']}, duplicated {r['duplicated']}, reordered {r['reordered']}",
                     fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out / "timeline.png", dpi=90)
    plt.close(fig)
    return ["timeline.png"]


def rewrite(out: Path) -> None:
    """Render report.md and timeline.png again from report.json (after a change here)."""
    write(json.loads((out / "report.json").read_text()), out)


def write(data: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data["plots"] = plot(data["scenarios"]["faults"], out)
    data["targets"] = targets(data["scenarios"]["faults"])
    (out / "report.json").write_text(json.dumps(data, indent=2, default=str))
    (out / "report.md").write_text(markdown(data))

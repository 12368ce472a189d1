"""The report: report.json (everything), report.md (machine, targets, tables), PNG plots."""

from __future__ import annotations

import json
from pathlib import Path


def _f(v, fmt="{:.2f}"):
    return "–" if v is None else fmt.format(v)


# the REST lists with a target (req/s against bare Klein); the others are reported
LIST_TARGETS = {"directory.list_events": 0.10}


def targets(data: dict) -> list[dict]:
    """Every figure with a target: value, target, met?"""
    sc = data["scenarios"]
    rows = []

    def add(name, value, target, ok, note=""):
        rows.append({"figure": name, "value": value, "target": target,
                     "met": None if value is None else bool(ok(value)), "note": note})

    rest = sc.get("rest") or {}
    for key, r in (rest.get("results") or {}).items():
        value = rest["ratios"].get(f"{key}/bare_klein")
        per_cpu = rest["ratios"].get(f"{key}/bare_klein cpu")
        note = f"per server CPU-second: {per_cpu:.2f}" if per_cpu is not None else ""
        if r.get("kind") == "detail":
            add(f"REST {r['label']} / bare Klein (req/s)", value, ">= 0.50 (moonshot 0.80)", lambda v: v >= 0.5,
                note)
        elif r.get("kind") == "list":
            # the directory's page of 20 events with their organizations; the other lists: report
            floor = LIST_TARGETS.get(key)
            add(f"REST {r['label']} / bare Klein (req/s)", value, f">= {floor:.2f}" if floor else "report",
                lambda v, floor=floor: v >= floor if floor else True, note)
    if rest.get("ratios") and "rooms.detail_info/bare_web" in rest["ratios"]:
        add("REST rooms: detail GET /v1/info / bare twisted.web (req/s)", rest["ratios"]["rooms.detail_info/bare_web"],
            "report", lambda v: True)
    for n, row in (sc.get("fanout") or {}).items():
        if isinstance(row, dict) and "ratio" in row:
            add(f"fan-out to {int(n):,} members / bare Autobahn (time to last)", row["ratio"],
                "<= 1.3" if int(n) >= 5000 else "report", lambda v, n=n: v <= 1.3 if int(n) >= 5000 else True)
    conns = sc.get("conns") or {}
    if "meetsrv" in conns:
        m = conns["meetsrv"]
        if m["wanted"] >= 15000:
            add(f"idle WebSockets held by one process (of {m['wanted']:,})", m["connected"], ">= 15,000",
                lambda v: v >= 15000)
        else:
            add(f"idle WebSockets held by one process (of {m['wanted']:,})", m["connected"], "15,000 (full run)",
                lambda v: v >= m["wanted"], "this run tried fewer")
        add("resident memory per idle WebSocket (KiB)", m["kib_per_connection"], "<= 13", lambda v: v <= 13)
        b = conns.get("bare_autobahn") or {}
        add("resident memory per idle WebSocket / bare Autobahn", conns.get("ratio_memory"), "report",
            lambda v: True, f"bare Autobahn {_f(b.get('kib_per_connection'), '{:.1f}')} KiB")
    chat = (sc.get("chat") or {}).get("ratios") or {}
    for key in ("sqlite: redis bus / in-process bus (capacity)", "postgresql: redis bus / in-process bus (capacity)"):
        if chat.get(key) is not None:
            add(f"chat, {key}", chat[key], ">= 0.8", lambda v: v >= 0.8)
    for key in ("sqlite: in-process bus / redis bus (p99 latency)", "postgresql: in-process bus / redis bus (p99 latency)",
                "postgresql+redis: 2 processes / 1 process (capacity per CPU-second)",
                "postgresql+redis: 1 process / 2 processes (p99 latency)"):
        if chat.get(key) is not None:
            add(f"chat, {key}", chat[key], "report", lambda v: True)
    workers = (sc.get("workers") or {}).get("ratios") or {}
    for key, v in workers.items():
        if v is not None:
            add(f"PostgreSQL + Redis, 2 processes / 1 process: {key}", v, "report", lambda v: True)
    for backend, g in (sc.get("growth") or {}).items():
        if not isinstance(g, dict) or "growth_p50" not in g:
            continue
        for key, v in g["growth_p50"].items():
            add(f"growth {g['from_rows']:,} -> {g['to_rows']:,} rows, {backend}, {key} (p50 ratio)", v, "<= 2",
                lambda v: v <= 2)
    if sc.get("faults"):
        from bench.faults import report as faults_report

        rows += faults_report.targets(sc["faults"])
    return rows


def markdown(data: dict) -> str:
    m = data["machine"]
    sc = data["scenarios"]
    out = [f"# meetsrv benchmark ({data['mode']} run)", ""]
    out.append(f"Started {data['started']}, took {data.get('elapsed_s', '?')} s. Commit `{m.get('commit')}`.")
    out.append("")
    out.append(f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory']} RAM, kernel {m['kernel']}; "
               f"Python {m['python']}, Twisted {m['twisted']}, Klein {m['klein']}, Autobahn {m['autobahn']}; "
               f"load generator {m.get('wrk') or 'python fallback'}. Load average at start "
               f"{' '.join(m.get('loadavg_start', []))}, at end {' '.join(m.get('loadavg_end', []) or [])} "
               "(other jobs share this machine: absolute numbers are noisy, the side-by-side ratios are the result).")
    out.append("")
    out += ["## Targets", "", "| figure | value | target | met |", "|---|---|---|---|"]
    for t in targets(data):
        met = {True: "yes", False: "**no**", None: "–"}[t["met"]]
        v = t["value"]
        val = _f(v, "{:,}") if isinstance(v, int) else _f(v)
        out.append(f"| {t['figure']} | {val} | {t['target']} | {met}{' — ' + t['note'] if t['note'] else ''} |")
    out.append("")

    rest = sc.get("rest")
    if rest and "results" in rest:
        out += [f"## REST ({rest['connections']} connections, {rest['seconds']} s x {rest['rounds']} rounds, medians)",
                "", "| target | req/s | / bare Klein | server CPU µs per request | / bare Klein per CPU-second "
                "| p50 ms | p99 ms | non-2xx | rounds req/s |",
                "|---|---|---|---|---|---|---|---|---|"]
        for key, r in rest["results"].items():
            vs_klein = rest["ratios"].get(f"{key}/bare_klein")
            per_cpu = rest["ratios"].get(f"{key}/bare_klein cpu")
            out.append(f"| {r['label']} | {r['rps']:.0f} | {_f(vs_klein)} | {_f(r.get('cpu_us_per_req'), '{:.0f}')} "
                       f"| {_f(per_cpu)} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['non_2xx']} | {r['rounds_rps']} |")
        out.append("")
    fan = sc.get("fanout")
    if fan and "error" not in fan:
        out += ["## WebSocket fan-out (one message, time until the last member has it; median of rounds)", "",
                "| members | meetsrv last ms | bare Autobahn last ms | ratio | meetsrv median member ms | "
                "Autobahn median member ms | connected |", "|---|---|---|---|---|---|---|"]
        for n, r in fan.items():
            if not isinstance(r, dict) or "ratio" not in r:
                continue
            out.append(f"| {int(n):,} | {_f(r['meetsrv_last_ms'], '{:.1f}')} | {_f(r['bare_autobahn_last_ms'], '{:.1f}')} "
                       f"| {_f(r['ratio'])} | {_f(r['meetsrv_median_member_ms'], '{:.1f}')} "
                       f"| {_f(r['bare_autobahn_median_member_ms'], '{:.1f}')} | {r['connected']}/{r['wanted']} |")
        out.append("")
    chat = sc.get("chat")
    if chat and "results" in chat:
        out += [f"## Sustained chat ({chat['rooms']} rooms x {chat['room_size']} members, {chat['rate_in_per_s']} "
                f"messages/s offered (open loop), {chat['seconds']} s x {chat['rounds']} rounds, medians)", "",
                "| configuration | messages in /s | frames delivered /s | p50 ms | p99 ms | server CPU ms per message "
                "| capacity msgs per CPU-s | undelivered | connected |",
                "|---|---|---|---|---|---|---|---|---|"]
        for name, r in chat["results"].items():
            out.append(f"| {name} | {r['in_per_s']:.0f} | {r['deliveries_per_s']:.0f} | {_f(r['p50_ms'], '{:.1f}')} "
                       f"| {_f(r['p99_ms'], '{:.1f}')} | {_f(r['server_cpu_ms_per_msg'], '{:.3f}')} "
                       f"| {_f(r['capacity_msgs_per_cpu_s'], '{:.0f}')} | {r['undelivered']} | {r['connected']}/{r['wanted']} |")
        out += ["", "| ratio | value |", "|---|---|"]
        for k, v in chat["ratios"].items():
            out.append(f"| {k} | {_f(v)} |")
        out.append("")
    conns = sc.get("conns")
    if conns and "meetsrv" in conns:
        out += ["## Idle WebSocket connections", "",
                "| server | connected | seconds to connect | RSS before KiB | RSS after KiB | KiB per connection "
                "| server CPU ms per connection | alive at end |",
                "|---|---|---|---|---|---|---|---|"]
        for name in ("meetsrv", "bare_autobahn"):
            r = conns.get(name)
            if r:
                out.append(f"| {name} | {r['connected']:,}/{r['wanted']:,} | {r['connect_s']:.1f} | {r['rss_before_kib']:,} "
                           f"| {r['rss_after_kib']:,} | {_f(r['kib_per_connection'], '{:.1f}')} "
                           f"| {_f(r.get('cpu_ms_per_connection'))} | {r['alive_at_end']} |")
        out.append("")
    workers = sc.get("workers")
    if workers and "results" in workers:
        out += [f"## Workers: 1 process and --workers 2 on PostgreSQL + Redis ({workers['cores']} cores; medians of "
                f"{workers['rounds']} rounds)", "",
                f"Chat: {workers['rooms']} rooms x {workers['room_size']} members, closed loop (one message in flight "
                f"per room, sent with a client_id, the next once acknowledged), {workers['chat_seconds']} s. REST: "
                f"{workers['rest_path']} under wrk, {workers['http_connections']} connections, {workers['rest_seconds']} s. "
                "CPU is every server process's (the supervisor of --workers included).", "",
                "| configuration | chat msgs/s | deliveries/s | msgs per CPU-s | ack p99 ms | delivery p99 ms "
                "| REST req/s | req per CPU-s | REST p99 ms | connected | errors |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, r in workers["results"].items():
            out.append(f"| {name} | {_f(r['chat_msgs_per_s'], '{:.0f}')} | {_f(r['chat_deliveries_per_s'], '{:.0f}')} "
                       f"| {_f(r['chat_msgs_per_cpu_s'], '{:.0f}')} | {_f(r['chat_ack_p99_ms'], '{:.1f}')} "
                       f"| {_f(r['chat_p99_ms'], '{:.1f}')} | {_f(r['rest_rps'], '{:.0f}')} "
                       f"| {_f(r['rest_requests_per_cpu_s'], '{:.0f}')} | {_f(r['rest_p99_ms'], '{:.1f}')} "
                       f"| {r['chat_connected']}/{r['chat_wanted']} | {r['chat_error_frames'] + r['rest_non_2xx']} "
                       f"error frames/non-2xx, {r['chat_undelivered']} undelivered |")
        out += ["", "| 2 processes / 1 process | value |", "|---|---|"]
        for k, v in workers["ratios"].items():
            out.append(f"| {k} | {_f(v)} |")
        out.append("")
    growth = sc.get("growth")
    if growth and "error" not in growth:
        for backend, g in growth.items():
            if not isinstance(g, dict) or "sizes" not in g:
                continue
            sizes = g["sizes"]
            out += [f"## Growth ({backend}; p50 / p99 ms, one connection)", "",
                    "| query | " + " | ".join(f"{s['rows']:,} rows" for s in sizes) + " | p50 ratio |",
                    "|---|" + "---|" * (len(sizes) + 1)]
            for key, r in sizes[0]["results"].items():
                cells = [f"{s['results'][key]['p50_ms']:.2f} / {s['results'][key]['p99_ms']:.2f}" for s in sizes]
                out.append(f"| {r['label']} | " + " | ".join(cells) + f" | {_f(g['growth_p50'][key])} |")
            out.append("")
            out.append("Seeding took " + ", ".join(f"{s['seed_s']} s ({s['rows']:,})" for s in sizes) + ".")
            out.append("")
    if sc.get("faults") and "error" not in sc["faults"]:
        from bench.faults import report as faults_report

        out += faults_report.section(sc["faults"])
    errors = {k: v["error"] for k, v in sc.items() if isinstance(v, dict) and "error" in v}
    if errors:
        out += ["## Errors", ""] + [f"- {k}: {v}" for k, v in errors.items()] + [""]
    out.append("Plots: " + ", ".join(f"![{p}]({p})" for p in data.get("plots", [])))
    return "\n".join(out) + "\n"


def plots(data: dict, out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made = []
    sc = data["scenarios"]
    rest = sc.get("rest")
    if rest and "results" in rest:
        keys = list(rest["results"])
        fig, ax = plt.subplots(figsize=(9, 1.5 + 0.4 * len(keys)))
        vals = [rest["results"][k]["rps"] for k in keys]
        ax.barh([rest["results"][k]["label"] for k in keys], vals, color=["#888"] * 2 + ["#2a7"] * (len(keys) - 2))
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.0f}", va="center")
        ax.set_xlabel("requests per second (median of rounds)")
        ax.set_title("REST: meetsrv against the bare stack")
        fig.tight_layout()
        fig.savefig(out / "rest.png", dpi=100)
        plt.close(fig)
        made.append("rest.png")
    fan = sc.get("fanout")
    if fan and "error" not in fan:
        rows = [(n, r) for n, r in fan.items() if isinstance(r, dict) and "ratio" in r]
        if rows:
            fig, ax = plt.subplots(figsize=(6, 4))
            xs = range(len(rows))
            ax.bar([x - 0.2 for x in xs], [r["meetsrv_last_ms"] for _, r in rows], 0.4, label="meetsrv", color="#2a7")
            ax.bar([x + 0.2 for x in xs], [r["bare_autobahn_last_ms"] for _, r in rows], 0.4, label="bare Autobahn",
                   color="#888")
            ax.set_xticks(list(xs), [f"{int(n):,} members" for n, _ in rows])
            ax.set_ylabel("ms until the last member has the message")
            ax.set_title("WebSocket fan-out")
            ax.legend()
            fig.tight_layout()
            fig.savefig(out / "fanout.png", dpi=100)
            plt.close(fig)
            made.append("fanout.png")
    chat = sc.get("chat")
    if chat and "results" in chat:
        names = list(chat["results"])
        fig, ax = plt.subplots(figsize=(8, 4))
        vals = [chat["results"][n]["capacity_msgs_per_cpu_s"] or 0 for n in names]
        ax.barh(names, vals, color="#27a")
        for i, n in enumerate(names):
            ax.text(vals[i], i, f" {vals[i]:.0f}, p99 {_f(chat['results'][n]['p99_ms'], '{:.0f}')} ms", va="center")
        ax.set_xlabel("messages per server CPU-second (each delivered to 9 members)")
        ax.set_title(f"Sustained chat: 100 rooms of 10, {chat['rate_in_per_s']} msgs/s offered")
        fig.tight_layout()
        fig.savefig(out / "chat.png", dpi=100)
        plt.close(fig)
        made.append("chat.png")
    conns = sc.get("conns")
    if conns and "meetsrv" in conns:
        fig, ax = plt.subplots(figsize=(6, 3))
        names = [n for n in ("meetsrv", "bare_autobahn") if conns.get(n)]
        vals = [conns[n]["kib_per_connection"] or 0 for n in names]
        ax.barh(names, vals, color=["#2a7", "#888"][:len(names)])
        ax.axvline(13, color="red", ls="--", label="target 13 KiB")
        ax.set_xlabel(f"KiB resident memory per idle WebSocket ({conns['meetsrv']['connected']:,} connections)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "connections.png", dpi=100)
        plt.close(fig)
        made.append("connections.png")
    growth = sc.get("growth")
    if growth and "error" not in growth:
        for backend, g in growth.items():
            if not isinstance(g, dict) or "sizes" not in g:
                continue
            fig, ax = plt.subplots(figsize=(7, 4))
            xs = [s["rows"] for s in g["sizes"]]
            for key in g["sizes"][0]["results"]:
                ax.plot(xs, [s["results"][key]["p50_ms"] for s in g["sizes"]], marker="o", label=key)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("rows")
            ax.set_ylabel("p50 latency, ms")
            ax.set_title(f"Growth ({backend})")
            ax.legend(fontsize=8)
            fig.tight_layout()
            name = f"growth-{backend}.png"
            fig.savefig(out / name, dpi=100)
            plt.close(fig)
            made.append(name)
    return made


def write(data: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data["plots"] = plots(data, out)
    data["targets"] = targets(data)
    (out / "report.json").write_text(json.dumps(data, indent=2, default=str))
    (out / "report.md").write_text(markdown(data))

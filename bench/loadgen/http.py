"""HTTP load: `wrk --latency` when installed, else a small asyncio keep-alive load generator
(run in its own process: `python -m bench.loadgen.http` reads a JSON spec on stdin)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import time

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> dict:
    res = {"tool": "wrk"}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else None
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{p}(?:\.000)?%\s+(\S+)", out, re.M)
        res[f"p{p}_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = m.group(1).strip() if m else None
    return res


def measure(url: str, headers: dict, duration: float, connections: int, threads: int = 1) -> dict:
    """Requests per second and latency percentiles (ms) for GET url."""
    wrk = shutil.which("wrk")
    if wrk:
        args = [wrk, "--latency", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s"]
        for k, v in headers.items():
            args += ["-H", f"{k}: {v}"]
        out = subprocess.run(args + [url], capture_output=True, text=True, timeout=duration + 60).stdout
        return parse_wrk(out)
    from bench.common import run_json

    return run_json(["bench.loadgen.http"], {"url": url, "headers": headers, "duration": duration,
                                             "connections": connections}, timeout=duration + 60)


# -- the fallback generator --------------------------------------------------------------------

async def _worker(host, port, request: bytes, stop_at: float, lat: list, status: list):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            lat.append((time.perf_counter() - t0) * 1000)
            if not head.startswith(b"HTTP/1.1 2"):
                status.append(head[:12])
    finally:
        writer.close()


async def _run(spec: dict) -> dict:
    from urllib.parse import urlsplit

    u = urlsplit(spec["url"])
    path = u.path + (f"?{u.query}" if u.query else "")
    hdrs = "".join(f"{k}: {v}\r\n" for k, v in spec.get("headers", {}).items())
    request = f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\n{hdrs}\r\n".encode()
    lat, status = [], []
    t0 = time.perf_counter()
    stop_at = t0 + spec["duration"]
    await asyncio.gather(*[_worker(u.hostname, u.port, request, stop_at, lat, status)
                           for _ in range(spec["connections"])])
    elapsed = time.perf_counter() - t0
    from bench.common import percentile

    return {"tool": "python", "rps": len(lat) / elapsed, "requests": len(lat), "non_2xx": len(status),
            **{f"p{p}_ms": percentile(lat, p) for p in (50, 75, 90, 99)}}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_run(json.load(sys.stdin)))))

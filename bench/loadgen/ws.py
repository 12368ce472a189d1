"""A lean asyncio WebSocket client for many sockets, run in its own process:

    python -m bench.loadgen.ws < spec.json      (prints JSON lines; the last is the result)

Spec: {"mode": "fanout" | "chat" | "idle", "host": "127.0.0.1", "conns": [[port, path], ...], ...}

- fanout: conns[0] sends one message `rounds` times; per round, the time until every other
  socket has it (and until the median one has it).
- chat: conns are grouped in `room_size`; `rate` messages a second in all (open loop), rooms in
  turn, sent in turn by their members. Reports messages per second in and delivered (frames), and
  delivery latency percentiles, over `duration`.
- chat_acked: closed loop, as much as the server takes: conns are grouped in `room_size`; each
  room keeps one message in flight, sent with a client_id by its members in turn, the next
  once the server acknowledges it (the rooms door's {"ack": ...}). Reports messages
  acknowledged per second, deliveries, and the latency of acks and deliveries, over `duration`.
- idle: connect, print {"event": "connected"}, wait for a line on stdin, close.

Frames are parsed by hand (server frames are not masked); pings are answered with pongs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import sys
import time

from bench.common import percentile, raise_nofile

MASK = b"\x00\x00\x00\x00"  # a zero mask leaves the payload as is (valid framing, cheap)


def frame(payload: bytes, opcode: int = 1) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + MASK + payload


class Conn:
    __slots__ = ("index", "reader", "writer", "on_message", "task")

    def __init__(self, index, reader, writer):
        self.index = index
        self.reader = reader
        self.writer = writer
        self.on_message = None
        self.task = None

    def send(self, text: str) -> None:
        self.writer.write(frame(text.encode()))

    async def read_loop(self):
        r = self.reader
        try:
            while True:
                h = await r.readexactly(2)
                op, n = h[0] & 0x0F, h[1] & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await r.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await r.readexactly(8))[0]
                data = await r.readexactly(n) if n else b""
                if op == 9:
                    self.writer.write(frame(data, 10))
                elif op == 8:
                    return
                elif op in (1, 2) and self.on_message is not None:
                    self.on_message(self, data)
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    def close(self):
        try:
            self.writer.write(frame(b"\x03\xe8", 8))
            self.writer.close()
        except Exception:
            pass


async def connect(index, host, port, path, timeout=60.0) -> Conn:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, limit=1 << 20), timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    if not head.startswith(b"HTTP/1.1 101"):
        writer.close()
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    c = Conn(index, reader, writer)
    c.task = asyncio.get_running_loop().create_task(c.read_loop())
    return c


async def connect_all(spec) -> tuple[list, dict]:
    host = spec.get("host", "127.0.0.1")
    sem = asyncio.Semaphore(spec.get("parallel", 100))
    conns = [None] * len(spec["conns"])
    errors: dict[str, int] = {}

    async def one(i, port, path):
        async with sem:
            for attempt in range(3):
                try:
                    conns[i] = await connect(i, host, port, path)
                    return
                except Exception as e:  # noqa: BLE001 (counted and reported)
                    err = f"{type(e).__name__}: {e}"[:120]
                    if attempt == 2:
                        errors[err] = errors.get(err, 0) + 1
                    await asyncio.sleep(0.2)

    t0 = time.perf_counter()
    await asyncio.gather(*[one(i, port, path) for i, (port, path) in enumerate(spec["conns"])])
    info = {"connected": sum(1 for c in conns if c), "wanted": len(conns), "connect_s": time.perf_counter() - t0,
            "errors": errors}
    return conns, info


def text_of(data: bytes) -> str:
    """The chat text of a frame: meetsrv sends JSON with a "text" field; the baseline relays as is."""
    if data[:1] == b"{":
        try:
            value = json.loads(data)
            if isinstance(value, dict) and "text" in value:
                return value["text"]
        except ValueError:
            pass
    return data.decode()


async def fanout(spec) -> dict:
    """Groups ([start, end) ranges of conns, one per server) take turns, round by round, so the
    servers compared are measured side by side, interleaved in time."""
    conns, info = await connect_all(spec)
    groups = spec.get("groups") or [[0, len(conns)]]
    await asyncio.sleep(spec.get("settle", 1.0))
    results = [[] for _ in groups]
    for rnd in range(spec.get("rounds", 5)):
        order = list(enumerate(groups))
        if rnd % 2:  # alternate which server goes first
            order.reverse()
        for g, (lo, hi) in order:
            sender = conns[lo]
            receivers = [c for c in conns[lo + 1:hi] if c]
            if sender is None or not receivers:
                continue
            got = []
            done = asyncio.get_running_loop().create_future()
            want = len(receivers)
            tag = f"fanout-{g}-{rnd}"

            def on_message(c, data, got=got, done=done, tag=tag, want=want):
                if text_of(data) == tag:
                    got.append(time.perf_counter())
                    if len(got) == want and not done.done():
                        done.set_result(None)

            for c in receivers:
                c.on_message = on_message
            t0 = time.perf_counter()
            sender.send(json.dumps({"text": tag}))
            try:
                await asyncio.wait_for(done, spec.get("timeout", 30))
            except TimeoutError:
                pass
            if got:
                results[g].append({"last_ms": (max(got) - t0) * 1000,
                                   "median_ms": (percentile(got, 50) - t0) * 1000,
                                   "received": len(got), "wanted": want})
            await asyncio.sleep(spec.get("pause", 0.3))
    for c in conns:
        if c:
            c.close()
    return {**info, "groups": results}


async def chat(spec) -> dict:
    """Open loop: `rate` messages a second in total (the same load for every configuration),
    rooms in turn, each room's members in turn. Prints {"event": "measure_start"} and
    {"event": "measure_end"} so the caller can read the server's CPU time over the window."""
    conns, info = await connect_all(spec)
    size = spec["room_size"]
    rate = spec["rate"]
    duration = spec["duration"]
    warmup = spec.get("warmup", 1.0)
    rooms = [conns[i:i + size] for i in range(0, len(conns), size)]
    rooms = [r for r in rooms if all(r)]
    sent_at: dict[str, float] = {}
    remaining: dict[str, int] = {}
    lat: list[float] = []
    counters = {"in": 0, "delivered_msgs": 0, "deliveries": 0}
    measuring = {"on": False}
    turn = [0] * len(rooms)

    def on_message(c, data):
        now = time.perf_counter()
        tag = text_of(data)
        t = sent_at.get(tag)
        if t is None:
            return
        if measuring["on"]:
            lat.append((now - t) * 1000)
            counters["deliveries"] += 1
        remaining[tag] -= 1
        if remaining[tag] == 0:
            del remaining[tag], sent_at[tag]
            if measuring["on"]:
                counters["delivered_msgs"] += 1

    for r in rooms:
        for c in r:
            c.on_message = on_message
    await asyncio.sleep(0.5)
    start = time.perf_counter()
    t_measure, t_end = start + warmup, start + warmup + duration
    owed, last, room = 0.0, start, 0
    while True:
        now = time.perf_counter()
        if not measuring["on"] and now >= t_measure:
            measuring["on"] = True
            lat.clear()
            print(json.dumps({"event": "measure_start"}), flush=True)
            t0 = now
        if now >= t_end:
            break
        owed += (now - last) * rate
        last = now
        while owed >= 1:
            owed -= 1
            members = rooms[room]
            turn[room] += 1
            tag = f"{room}:{turn[room]}"
            sent_at[tag] = time.perf_counter()
            remaining[tag] = len(members) - 1
            members[turn[room] % len(members)].send(json.dumps({"text": tag}))
            if measuring["on"]:
                counters["in"] += 1
            room = (room + 1) % len(rooms)
        await asyncio.sleep(0.005)
    measuring["on"] = False
    elapsed = time.perf_counter() - t0
    print(json.dumps({"event": "measure_end"}), flush=True)
    await asyncio.sleep(1.0)
    undelivered = sum(remaining.values())
    for c in conns:
        if c:
            c.close()
    return {**info, "rooms": len(rooms), "room_size": size, "rate": rate, "duration_s": elapsed,
            "in_per_s": counters["in"] / elapsed, "messages_delivered_per_s": counters["delivered_msgs"] / elapsed,
            "deliveries_per_s": counters["deliveries"] / elapsed, "undelivered_after_1s": undelivered,
            "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "max_ms": max(lat) if lat else None,
            "client_cpu_s": time.process_time()}


async def chat_acked(spec) -> dict:
    """Closed loop: every room has one message in flight (sent with a client_id, the next sent
    when the server acknowledges it), so the load is as much as the server takes. Prints
    measure_start / measure_end events like chat()."""
    conns, info = await connect_all(spec)
    size = spec["room_size"]
    duration = spec["duration"]
    warmup = spec.get("warmup", 1.0)
    rooms = [conns[i:i + size] for i in range(0, len(conns), size)]
    rooms = [r for r in rooms if all(r)]
    sent_at: dict[str, float] = {}
    remaining: dict[str, int] = {}
    ack_lat: list[float] = []
    lat: list[float] = []
    counters = {"acked": 0, "deliveries": 0, "errors": 0}
    state = {"measuring": False, "sending": True}
    turn = [0] * len(rooms)
    # client_ids are stored once per (user, chat, client_id): a run repeating an earlier run's
    # ids would be answered as repeats, and nothing delivered
    run = os.urandom(4).hex()

    def send_next(room: int) -> None:
        members = rooms[room]
        turn[room] += 1
        tag = f"{room}:{turn[room]}:{run}"
        sent_at[tag] = time.perf_counter()
        remaining[tag] = len(members) - 1
        members[turn[room] % len(members)].send(json.dumps({"text": tag, "client_id": tag}))

    def on_message(c, data):
        now = time.perf_counter()
        try:
            value = json.loads(data)
        except ValueError:
            return
        if "ack" in value:
            tag = value["ack"]
            t = sent_at.get(tag)
            if t is None:
                return
            if state["measuring"]:
                counters["acked"] += 1
                ack_lat.append((now - t) * 1000)
            if state["sending"]:
                send_next(int(tag.split(":")[0]))
            return
        if "error" in value:
            counters["errors"] += 1
            return
        tag = value.get("text")
        t = sent_at.get(tag)
        if t is None:
            return
        if state["measuring"]:
            lat.append((now - t) * 1000)
            counters["deliveries"] += 1
        remaining[tag] -= 1
        if remaining[tag] == 0:
            del remaining[tag], sent_at[tag]

    for r in rooms:
        for c in r:
            c.on_message = on_message
    await asyncio.sleep(0.5)
    for room in range(len(rooms)):
        send_next(room)
    await asyncio.sleep(warmup)
    state["measuring"] = True
    print(json.dumps({"event": "measure_start"}), flush=True)
    t0 = time.perf_counter()
    await asyncio.sleep(duration)
    state["measuring"] = False
    elapsed = time.perf_counter() - t0
    print(json.dumps({"event": "measure_end"}), flush=True)
    state["sending"] = False
    await asyncio.sleep(1.0)
    for c in conns:
        if c:
            c.close()
    return {**info, "rooms": len(rooms), "room_size": size, "duration_s": elapsed,
            "acked_per_s": counters["acked"] / elapsed, "deliveries_per_s": counters["deliveries"] / elapsed,
            "error_frames": counters["errors"], "undelivered_after_1s": sum(remaining.values()),
            "ack_p50_ms": percentile(ack_lat, 50), "ack_p99_ms": percentile(ack_lat, 99),
            "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "client_cpu_s": time.process_time()}


async def idle(spec) -> dict:
    conns, info = await connect_all(spec)
    print(json.dumps({"event": "connected", **info}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    alive = sum(1 for c in conns if c and not c.task.done())
    for c in conns:
        if c:
            c.close()
    await asyncio.sleep(0.2)
    return {**info, "alive_at_end": alive}


async def main(spec) -> dict:
    return await {"fanout": fanout, "chat": chat, "chat_acked": chat_acked, "idle": idle}[spec["mode"]](spec)


if __name__ == "__main__":
    raise_nofile()
    spec = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(main(spec))), flush=True)

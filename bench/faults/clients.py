"""The chat clients of the fault bench, run in their own process:

    python -m bench.faults.clients      (a JSON spec on the first line of stdin; then commands)

Every member of every room holds one rooms-door WebSocket to its home process and behaves as a
careful real client does:

- it sends at its share of `rate`, one message at a time, each with a client_id, and waits for
  the ack before it sends the next; a message not acknowledged within RESEND_AFTER seconds, or
  refused with an error frame, is sent again with the same client_id (stored once however often);
- it remembers every message id it receives; when its socket closes it reconnects, to the other
  process first (a load balancer would), with `?after=` the last id it saw, and sends its
  unacknowledged message again.

Commands (stdin, one a line): `stop` stops offering new messages, sends what is not acknowledged
until it is (at most `drain` seconds), waits `settle` seconds for the last frames, prints the
result (the last JSON line) and exits. Meanwhile one {"event": "tick"} line a second.

Counted, per member, over every socket it held: lost = messages of others in its room that were
acknowledged but never reached it; duplicated = a message id received again; reordered = an id
smaller than one received before; echoed = one of its own messages sent back on the socket that
posted it (the rooms door does not echo).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

from bench.common import percentile, raise_nofile
from bench.loadgen.ws import connect

RESEND_AFTER = 3.0  # seconds without an ack before the same message is sent again
ERROR_RETRY = 0.5  # seconds after an error frame before it is sent again
RECONNECT_PAUSE = 0.2


class Member:
    def __init__(self, index: int, spec: dict, ports: list[int], run: Run):
        self.index = index
        self.user = spec["user"]
        self.token = spec["token"]
        self.room = spec["room"]
        self.home = spec["home"]
        self.ports = ports
        self.run = run
        self.conn = None
        self.server = None
        self.last_seen = None  # the largest message id received
        self.received: list[int] = []
        self.inflight = None  # [client_id, text, first sent, last sent]
        self.acks: dict[str, int] = {}
        self.acked_on: dict[int, int] = {}  # message id -> the socket (generation) that had its ack
        self.generation = 0  # sockets opened so far
        self.echoed = 0  # own messages sent back on the socket that posted them (rooms: no echo)
        self.seq = 0
        self.reconnects = 0
        self.failed_connects = 0
        self.error_frames = 0
        self.closed_codes: list[str] = []

    def path(self, after) -> str:
        p = f"/v1/rooms/{self.room}/chat?session_id={self.token}"
        return p if after is None else f"{p}&after={after}"

    # -- frames ------------------------------------------------------------------------------
    def on_message(self, conn, data: bytes) -> None:
        if conn is not self.conn:
            return
        now = time.perf_counter()
        value = json.loads(data)
        if "ack" in value:
            cid = value["ack"]
            if self.inflight is not None and self.inflight[0] == cid:
                self.run.ack_latency.append(now - self.inflight[2])
                self.inflight = None
            if cid not in self.acks:
                self.acks[cid] = value["id"]
                self.acked_on[value["id"]] = self.generation
                self.run.counts["acks"] += 1
        elif "error" in value:
            self.error_frames += 1
            if self.inflight is not None and value.get("client_id") == self.inflight[0]:
                self.inflight[3] = now - RESEND_AFTER + ERROR_RETRY
        elif "id" in value:
            message_id = value["id"]
            self.received.append(message_id)
            if self.acked_on.get(message_id) == self.generation:
                self.echoed += 1
            if self.last_seen is None or message_id > self.last_seen:
                self.last_seen = message_id
            self.run.counts["frames"] += 1
            sent = self.run.first_sent.get(value.get("text"))
            if sent is not None:
                self.run.delivery_latency.append(now - sent)

    # -- sending -----------------------------------------------------------------------------
    def send_inflight(self) -> None:
        cid, text, _, _ = self.inflight
        self.inflight[3] = time.perf_counter()
        self.conn.send(json.dumps({"text": text, "client_id": cid}))

    def new_message(self) -> None:
        self.seq += 1
        cid = f"{self.user}-{self.seq}"
        now = time.perf_counter()
        self.inflight = [cid, cid, now, now]
        self.run.first_sent[cid] = now
        self.run.counts["sent"] += 1
        self.send_inflight()

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.task.done()

    async def sender(self, interval: float) -> None:
        await asyncio.sleep(random.uniform(0, interval))
        while not self.run.stopping:
            if self.inflight is None and self.connected:
                self.new_message()
            await asyncio.sleep(interval * random.uniform(0.8, 1.2))

    def resend_if_due(self, now: float) -> None:
        if self.inflight is not None and self.connected and now - self.inflight[3] >= RESEND_AFTER:
            self.run.counts["resent"] += 1
            self.send_inflight()

    # -- the socket --------------------------------------------------------------------------
    async def open(self, server: int, after) -> None:
        conn = await connect(self.index, "127.0.0.1", self.ports[server], self.path(after), timeout=5.0)
        self.conn, self.server = conn, server
        self.generation += 1
        conn.on_message = self.on_message

    async def life(self) -> None:
        """Follow the socket; when it closes, reconnect (the other process first) with ?after=."""
        while not self.run.closing:
            if self.conn is not None:
                await self.conn.task
                if self.run.closing:
                    return
                self.conn.close()
                self.conn = None
            order = [1 - (self.server if self.server is not None else self.home),
                     self.server if self.server is not None else self.home]
            attempt = 0
            while not self.run.closing and self.conn is None:
                server = order[attempt % 2]
                attempt += 1
                try:
                    await self.open(server, self.last_seen or 0)
                except Exception as e:  # noqa: BLE001 (counted; the next attempt follows)
                    self.failed_connects += 1
                    self.run.connect_errors[f"{type(e).__name__}: {e}"[:80]] = \
                        self.run.connect_errors.get(f"{type(e).__name__}: {e}"[:80], 0) + 1
                    await asyncio.sleep(RECONNECT_PAUSE)
                    continue
                self.reconnects += 1
                if self.inflight is not None:
                    self.run.counts["resent"] += 1
                    self.send_inflight()


class Run:
    def __init__(self, spec: dict):
        self.spec = spec
        self.ports = spec["ports"]
        self.members = [Member(i, m, self.ports, self) for i, m in enumerate(spec["members"])]
        self.stopping = False
        self.closing = False
        self.first_sent: dict[str, float] = {}
        self.ack_latency: list[float] = []
        self.delivery_latency: list[float] = []
        self.counts = {"sent": 0, "acks": 0, "frames": 0, "resent": 0}
        self.connect_errors: dict[str, int] = {}
        self.t0 = time.perf_counter()

    async def start(self) -> dict:
        async def first(m):
            for _ in range(3):
                try:
                    await m.open(m.home, None)
                    return
                except Exception:  # noqa: BLE001
                    await asyncio.sleep(0.3)
            raise RuntimeError(f"member {m.user} could not connect")

        await asyncio.gather(*[first(m) for m in self.members])
        self.t0 = time.perf_counter()
        interval = len(self.members) / self.spec["rate"]
        self.tasks = [asyncio.create_task(m.life()) for m in self.members]
        self.tasks += [asyncio.create_task(m.sender(interval)) for m in self.members]
        self.tasks.append(asyncio.create_task(self.resender()))
        self.tasks.append(asyncio.create_task(self.ticker()))
        return {"event": "connected", "members": len(self.members)}

    async def resender(self) -> None:
        while not self.closing:
            now = time.perf_counter()
            for m in self.members:
                m.resend_if_due(now)
            await asyncio.sleep(0.25)

    async def ticker(self) -> None:
        while not self.closing:
            await asyncio.sleep(1.0)
            print(json.dumps({"event": "tick", "t": round(time.perf_counter() - self.t0, 1), **self.counts,
                              "connected": sum(1 for m in self.members if m.connected)}), flush=True)

    async def stop(self, drain: float, settle: float) -> dict:
        self.stopping = True
        t = time.perf_counter()
        deadline = t + drain
        while time.perf_counter() < deadline and any(m.inflight is not None for m in self.members):
            await asyncio.sleep(0.1)
        drained_s = time.perf_counter() - t
        await asyncio.sleep(settle)
        self.closing = True
        result = self.result(drained_s)
        for m in self.members:
            if m.conn is not None:
                m.conn.close()
        for task in self.tasks:
            task.cancel()
        return result

    def result(self, drained_s: float) -> dict:
        by_room: dict[int, list[tuple[int, int]]] = {}
        for m in self.members:
            for message_id in m.acks.values():
                by_room.setdefault(m.room, []).append((m.user, message_id))
        lost = duplicated = reordered = 0
        examples = []
        for m in self.members:
            seen: set[int] = set()
            top = 0
            for message_id in m.received:
                if message_id in seen:
                    duplicated += 1
                elif message_id < top:
                    reordered += 1
                seen.add(message_id)
                top = max(top, message_id)
            for sender, message_id in by_room.get(m.room, ()):
                if sender != m.user and message_id not in seen:
                    lost += 1
                    if len(examples) < 10:
                        examples.append({"member": m.user, "room": m.room, "id": message_id, "sender": sender,
                                         "server": m.server})
        ms = lambda values, p: None if not values else round(percentile(values, p) * 1000, 1)  # noqa: E731
        expected = sum(sum(1 for s, _ in by_room.get(m.room, ()) if s != m.user) for m in self.members)
        return {
            "members": len(self.members),
            "sent": self.counts["sent"], "acked": self.counts["acks"], "resent": self.counts["resent"],
            "unacked_at_end": sum(1 for m in self.members if m.inflight is not None),
            "deliveries_expected": expected, "frames_received": self.counts["frames"],
            "lost": lost, "duplicated": duplicated, "reordered": reordered, "lost_examples": examples,
            "echoed": sum(m.echoed for m in self.members),
            "reconnects": sum(m.reconnects for m in self.members),
            "failed_connects": sum(m.failed_connects for m in self.members),
            "connect_errors": self.connect_errors,
            "error_frames": sum(m.error_frames for m in self.members),
            "ack_p50_ms": ms(self.ack_latency, 50), "ack_p99_ms": ms(self.ack_latency, 99),
            "ack_max_ms": ms(self.ack_latency, 100),
            "delivery_p50_ms": ms(self.delivery_latency, 50), "delivery_p99_ms": ms(self.delivery_latency, 99),
            "delivery_max_ms": ms(self.delivery_latency, 100),
            "drained_s": round(drained_s, 1),
            "acked_ids": sorted(i for m in self.members for i in m.acks.values()),
        }


async def main() -> None:
    loop = asyncio.get_running_loop()
    spec = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    run = Run(spec)
    print(json.dumps(await run.start()), flush=True)
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "stop" or not line:
            print(json.dumps(await run.stop(spec.get("drain", 20.0), spec.get("settle", 3.0))), flush=True)
            return


if __name__ == "__main__":
    raise_nofile()
    asyncio.run(main())

"""A TCP proxy the fault bench controls, run in its own process:

    python -m bench.faults.proxy <target port> [<target host>]

It listens on a free port of 127.0.0.1 and prints {"port": N}; then reads commands on stdin,
one a line, and answers each with {"ok": "<command>", "connections": n}:

- `cut`: every relayed connection is aborted (both sides reset) and new ones are accepted and
  aborted at once: the server behind it is gone, as when it crashed or its host went away.
- `restore`: new connections are relayed again (the clients reconnect by themselves).

Loopback only; the real server behind it (the machine's PostgreSQL) is never touched.
"""

from __future__ import annotations

import asyncio
import json
import sys

HOST = "127.0.0.1"


class Proxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.cut = False
        self.pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self.cut:  # cut while connecting
            up_writer.transport.abort()
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self.pairs.add(pair)
        try:
            await asyncio.gather(self.pipe(reader, up_writer), self.pipe(up_reader, writer))
        finally:
            self.pairs.discard(pair)
            for w in pair:
                w.transport.abort()

    @staticmethod
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # one side ended: end the other, so the pair goes away together
            writer.transport.abort()

    def set_cut(self, cut: bool) -> None:
        self.cut = cut
        if cut:
            for pair in list(self.pairs):
                for w in pair:
                    w.transport.abort()


async def main(target_port: int, target_host: str) -> None:
    proxy = Proxy(target_host, target_port)
    server = await asyncio.start_server(proxy.handle, HOST, 0, backlog=1024)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        command = line.strip()
        if not line or command == "quit":
            break
        if command in ("cut", "restore"):
            proxy.set_cut(command == "cut")
            print(json.dumps({"ok": command, "connections": len(proxy.pairs)}), flush=True)
        else:
            print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else HOST))

"""The program the grader's front container runs (graders/front.py): it listens on one port per forward and
passes each connection to its service's port, inside the run's contained networks.

It runs as `python -c SOURCE LISTEN=HOST:PORT ...` in a stock Python image, so it uses the standard library
only. A connection whose service does not answer is closed at once, so the grader's readiness probe (a
connection that stays open means something listens) sees through the front to the service behind it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable

CONNECT_TIMEOUT_S = 5.0
CHUNK = 65536


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until its end, then pass the end on (a half-close, as the peer sent it)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        pass


Upstream = tuple[asyncio.StreamReader, asyncio.StreamWriter, Callable[[], None]]  # reader, writer, how to end it


async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                connect: Callable[[], Awaitable[Upstream]]) -> None:
    """One connection passed both ways to what `connect` opens; closed at once when that cannot be opened."""
    try:
        upstream_reader, upstream_writer, end = await connect()
    except OSError:  # refused, unreachable, or no answer in time (TimeoutError is an OSError)
        client_writer.close()
        return
    try:
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))
    finally:
        end()
        for writer in (upstream_writer, client_writer):
            writer.close()


def _handler(host: str, port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def connect() -> Upstream:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
        return reader, writer, lambda: None

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        await relay(client_reader, client_writer, connect)

    return handle


async def _serve(forwards: list[str]) -> None:
    servers = []
    for forward in forwards:
        listen, _, target = forward.partition("=")
        host, _, port = target.rpartition(":")
        servers.append(await asyncio.start_server(_handler(host, int(port)), "0.0.0.0", int(listen)))
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # PID 1 ignores SIGTERM unless told: stop at once
    asyncio.run(_serve(sys.argv[1:]))

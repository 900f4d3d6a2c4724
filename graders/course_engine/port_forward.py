"""`mastery engine forward`: the course engine's published ports on this machine's 127.0.0.1, the way Docker
Desktop brings its VM's ports to the laptop, so that the lessons' `curl localhost:8000` and the learner's
browser reach a container run in the course engine.

A port published on every address of the course engine is reached directly at the engine's address on the
host's bridge. One published on the engine's own loopback (`-p 127.0.0.1:8000:8000`, the lessons' habit) is
out of reach from outside the engine, so each connection to it runs `socat` in the engine's container with
`docker exec`, as `kubectl port-forward` does. Only TCP is forwarded, and only on 127.0.0.1: nothing is offered
to the network. A port this machine already uses (the course site on 8000, JupyterLab on 8888) stays with its
owner; the engine's port is then offered on a free port instead, and the line that says so gives the address.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import docker
import docker.errors
from docker import DockerClient

from graders.course_engine import control, places
from graders.front_forwarder import Upstream, relay
from graders.labels import RUN_LABEL

Say = Callable[[str], None]
WILDCARD = {"", "0.0.0.0", "::"}
LISTEN_ON = "127.0.0.1"
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Published:
    """One TCP port the course engine publishes, and what publishes it."""

    port: int
    address: str  # the engine's address it is bound on: 0.0.0.0 or :: for all of them, 127.0.0.1 for its loopback
    container: str

    @property
    def everywhere(self) -> bool:
        return self.address in WILDCARD


def published(client: DockerClient) -> dict[int, Published]:
    """The TCP ports the engine's running containers publish, by port; a port bound on every address wins over
    the same port bound on one (Docker lists 0.0.0.0 and :: as two entries of one port). The grader's own runs
    are left out: what they publish is theirs, for the seconds a check lasts."""
    found: dict[int, Published] = {}
    for item in client.api.containers():
        if RUN_LABEL in (item.get("Labels") or {}):
            continue
        name = str((item.get("Names") or ["/?"])[0]).lstrip("/")
        for entry in item.get("Ports") or []:
            if entry.get("Type") != "tcp" or not entry.get("PublicPort"):
                continue
            seen = Published(int(entry["PublicPort"]), str(entry.get("IP") or ""), name)
            if seen.port not in found or (seen.everywhere and not found[seen.port].everywhere):
                found[seen.port] = seen
    return found


Connect = Callable[[Published], Awaitable[Upstream]]


def connector(engine_address: str, host_env: dict[str, str], engine_container: str) -> Connect:
    """How one connection reaches a published port: directly when it is bound on every address of the engine,
    else through socat inside the engine's container."""

    async def connect(target: Published) -> Upstream:
        if target.everywhere and engine_address:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(engine_address, target.port),
                                                    CONNECT_TIMEOUT_S)
            return reader, writer, lambda: None
        inner = "127.0.0.1" if target.address.startswith("127.") or target.address == "::1" else target.address
        process = await asyncio.create_subprocess_exec(
            "docker", "exec", "-i", engine_container, "socat", "STDIO", f"TCP:{inner}:{target.port}",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env=host_env)
        assert process.stdin is not None and process.stdout is not None  # asked for above

        def end() -> None:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()

        return process.stdout, process.stdin, end

    return connect


class Forwarder:
    """One listener on 127.0.0.1 per published port, opened and closed as the engine's ports come and go."""

    def __init__(self, connect: Connect, say: Say, listen_on: str = LISTEN_ON) -> None:
        self._connect = connect
        self._say = say
        self._listen_on = listen_on
        self._open: dict[int, tuple[asyncio.Server, Published, int]] = {}

    @property
    def local_ports(self) -> dict[int, int]:
        """The engine's port -> the port on this machine that reaches it."""
        return {port: local for port, (_, _, local) in self._open.items()}

    async def sync(self, wanted: dict[int, Published]) -> None:
        for port in [port for port, (_, seen, _) in self._open.items() if wanted.get(port) != seen]:
            server, seen, local = self._open.pop(port)
            server.close()
            if port not in wanted:
                self._say(f"http://{self._listen_on}:{local} closed: {seen.container} no longer publishes port {port}")
        for port, target in wanted.items():
            if port not in self._open:
                await self._listen(target)

    async def _listen(self, target: Published) -> None:
        handler = self._handler(target)
        try:
            server = await asyncio.start_server(handler, self._listen_on, target.port)
        except OSError:
            server = await asyncio.start_server(handler, self._listen_on, 0)
            local = server.sockets[0].getsockname()[1]
            self._say(f"{self._listen_on}:{target.port} is taken on this machine, so port {target.port} of "
                      f"{target.container} (course engine) is at http://{self._listen_on}:{local}")
        else:
            local = target.port
            self._say(f"http://{self._listen_on}:{local} -> port {target.port} of {target.container} (course engine)")
        self._open[target.port] = (server, target, local)

    def _handler(self, target: Published) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
            await relay(client_reader, client_writer, lambda: self._connect(target))

        return handle

    async def close(self) -> None:
        for server, _, _ in self._open.values():
            server.close()
        self._open.clear()


async def forward(say: Say, stop: asyncio.Event, interval_s: float = 1.0,
                  ready: Callable[[Forwarder], None] | None = None) -> None:
    """Follow the course engine's published ports until `stop` is set. An engine that stops answering closes
    every forward, said once; they come back with it."""
    engine_address = control.status().published_host
    client = docker.DockerClient(base_url=places.url(), timeout=10)
    forwarder = Forwarder(connector(engine_address, control.host_env(), places.name()), say)
    answering = True
    try:
        while not stop.is_set():
            try:
                wanted = await asyncio.to_thread(published, client)
                if not answering:
                    say("the course engine answers again: following its ports")
                answering = True
            except (docker.errors.DockerException, OSError):
                if answering:
                    say("the course engine does not answer: no ports forwarded until it does (mastery engine start)")
                answering, wanted = False, {}
            await forwarder.sync(wanted)
            if ready is not None:
                ready(forwarder)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
    finally:
        await forwarder.close()
        client.close()

"""The course engine on a real host engine: a test instance of its own (its own container, volume, socket and
context, beside any learner's), started, found idempotent, walled off from the host, revived from a stale socket
and a stopped container, diagnosed when it hangs, and reset."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from click.testing import CliRunner

from graders import doctor, engine
from graders.cli import main
from graders.course_engine import control, places, port_forward
from graders.course_engine.spare import spare_engine
from graders.engine_address import COURSE, HOST, resolve

pytestmark = [pytest.mark.engine, pytest.mark.slow]

NAME = "mastery-engine-test"
SEED = ("debian:trixie-slim", "python:3.13-slim")  # what these tests run; the course's full set is 2 GB
PEN = {"MASTERY_ENGINE_BUILD_MEMORY": str(512 * 2**20), "MASTERY_ENGINE_BUILD_PIDS": "256"}  # small: cheap to fill


@pytest.fixture(scope="module")
def instance() -> Iterator[dict[str, str]]:
    """A course engine of the tests' own; removed, volume and all, at the end."""
    client = docker.from_env(environment=resolve(HOST).env())
    dangling = {v.name for v in client.volumes.list(filters={"dangling": True})}
    with spare_engine(NAME, SEED, PEN, plugins=["docker-compose"]) as spare, pytest.MonkeyPatch.context() as patch:
        # Copying buildx out of the image made a container whose VOLUME outlived it, once per start.
        assert {v.name for v in client.volumes.list(filters={"dangling": True})} <= dangling
        # The suite may run on the course engine (conftest pins DOCKER_HOST to it); this instance runs on the host's.
        for key, value in spare.env.items():
            patch.setenv(key, value)
        yield spare.env


def _inner(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A docker command in the test engine, through its context, as a learner's terminal would run it."""
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    return subprocess.run(["docker", "--context", NAME, *args], capture_output=True, text=True, timeout=timeout, env=env)


def _host(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **resolve(HOST).env()})


def test_it_runs_engine_28_with_buildx_and_compose_2_40_and_a_second_start_does_nothing(instance: dict[str, str]) -> None:
    state = control.status()
    assert state.state == "running" and state.version.startswith("28.") and state.builder == "BuildKit"
    before = _host("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", NAME).stdout
    started = time.monotonic()
    again = control.start(lambda _: None, seed=SEED)
    assert again.state == "running" and time.monotonic() - started < 10
    assert _host("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", NAME).stdout == before  # not restarted
    assert _inner("version", "--format", "{{.Server.Version}}").stdout.startswith("28.")
    assert _inner("buildx", "version").returncode == 0
    assert "v2.40." in _inner("compose", "version").stdout
    # Its MTU is the path's at most (measured: nested one level deeper, TLS to PyPI was reset at 1500).
    assert _host("exec", NAME, "cat", "/sys/class/net/eth0/mtu").stdout.strip() == str(control.engine_mtu()) != "1500"
    # ... and so is its containers': a larger packet from this machine would be dropped at the engine's interface.
    inner_mtu = _inner("run", "--rm", "debian:trixie-slim", "cat", "/sys/class/net/eth0/mtu").stdout.strip()
    assert inner_mtu == str(control.engine_mtu())
    # The grader resolves `course` to it, and reads where its ports are reached from the engine itself.
    chosen = resolve(COURSE)
    assert chosen.url == places.url() and chosen.source == f"context {NAME}"
    with engine.using(chosen):
        assert engine.site().published_host == state.published_host != "127.0.0.1"
        assert engine.site().shared_folder == places.shared_dir() and engine.major_version() == 28


def test_what_runs_inside_sees_nothing_of_the_host(instance: dict[str, str]) -> None:
    host_names = set(_host("ps", "-a", "--format", "{{.Names}}").stdout.split())
    assert NAME in host_names
    inner_names = set(_inner("ps", "-a", "--format", "{{.Names}}").stdout.split())
    assert not inner_names & host_names
    # A bind mount of a host path gets the engine's own folder: /etc/hostname is the engine's name.
    seen = _inner("run", "--rm", "-v", "/etc:/host-etc:ro", "debian:trixie-slim", "cat", "/host-etc/hostname")
    assert seen.stdout.strip() == NAME, seen.stderr
    assert "/var/run/docker.sock" not in _inner("run", "--rm", "debian:trixie-slim", "ls", "/var/run").stdout
    # The host's images are not the engine's: only what was seeded or built in it.
    assert set(_inner("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()) == set(SEED)
    # The one host folder it sees is the shared one, at the same path, for the grader's staged files.
    marker = places.shared_dir() / "marker.txt"
    marker.write_text("from the host")
    try:
        read = _inner("run", "--rm", "-v", f"{places.shared_dir()}:/shared:ro", "debian:trixie-slim", "cat",
                      "/shared/marker.txt")
        assert read.stdout == "from the host"
    finally:
        marker.unlink()


def _pen(limit: str) -> str:
    """A limit of the cgroup every build step in the engine runs below (entrypoint.sh)."""
    controller = limit.split(".", 1)[0]
    script = (f"own=$(awk -F: '$2 ~ /(^|,){controller}(,|$)/ {{ print $3 }}' /proc/1/cgroup); "
              f"cat /sys/fs/cgroup/{controller}$own/buildkit/{limit}")
    return _host("exec", NAME, "sh", "-c", script).stdout.strip()


def _build(folder: Path, dockerfile: str) -> subprocess.CompletedProcess[str]:
    folder.mkdir()
    (folder / "Dockerfile").write_text(dockerfile)
    return _inner("buildx", "build", "--progress=plain", "--no-cache", str(folder), timeout=300)


def test_build_steps_share_a_pen_that_stops_a_fork_bomb_and_a_memory_hog(instance: dict[str, str],
                                                                          tmp_path: Path) -> None:
    """BuildKit takes no memory or process limit per build; the engine holds all its build steps together in a
    cgroup with limits of their own, so a runaway build fails and the engine keeps answering."""
    assert _pen("pids.max") == PEN["MASTERY_ENGINE_BUILD_PIDS"]
    assert _pen("memory.limit_in_bytes") == PEN["MASTERY_ENGINE_BUILD_MEMORY"]
    bomb = _build(tmp_path / "bomb", f"FROM debian:trixie-slim\nRUN for i in $(seq 400); do sleep 60 & done; wait # {time.time()}\n")
    assert bomb.returncode != 0 and "fork" in bomb.stderr.lower(), bomb.stderr[-2000:]
    hog = _build(tmp_path / "hog", f"FROM python:3.13-slim\nRUN python3 -c 'x = bytearray(768 * 2**20)' # {time.time()}\n")
    assert hog.returncode != 0 and "exit code: 137" in hog.stderr, hog.stderr[-2000:]
    fits = _build(tmp_path / "fits", f"FROM python:3.13-slim\nRUN python3 -c 'x = bytearray(128 * 2**20)' # {time.time()}\n")
    assert fits.returncode == 0, fits.stderr[-2000:]
    assert _inner("version", "--format", "{{.Server.Version}}").stdout.startswith("28.")


def test_a_changed_setting_replaces_the_container_and_keeps_the_volume(instance: dict[str, str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert _inner("volume", "create", "kept-data").returncode == 0
    before = _host("inspect", "--format", "{{.Id}}", NAME).stdout
    monkeypatch.setenv("MASTERY_ENGINE_BUILD_PIDS", "300")
    said: list[str] = []
    assert control.start(said.append, seed=SEED).state == "running"
    assert _host("inspect", "--format", "{{.Id}}", NAME).stdout != before
    assert any("settings changed" in line for line in said), said
    assert _pen("pids.max") == "300"
    assert "kept-data" in _inner("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert _inner("volume", "rm", "kept-data").returncode == 0
    monkeypatch.setenv("MASTERY_ENGINE_BUILD_PIDS", PEN["MASTERY_ENGINE_BUILD_PIDS"])
    assert control.start(lambda _: None, seed=SEED).state == "running"
    assert _pen("pids.max") == PEN["MASTERY_ENGINE_BUILD_PIDS"]


def test_docker_top_lists_a_containers_processes(instance: dict[str, str]) -> None:
    """`docker top` runs `ps` on the engine's own machine: the lessons teach it for debugging, so the course engine
    carries procps (it printed `exec: "ps": executable file not found in $PATH` without it)."""
    run = _inner("run", "-d", "--rm", "python:3.13-slim", "sleep", "60")
    assert run.returncode == 0, run.stderr
    try:
        top = _inner("top", run.stdout.strip())
        assert top.returncode == 0 and "sleep 60" in top.stdout, top.stdout + top.stderr
    finally:
        _inner("rm", "-f", run.stdout.strip())


def test_a_published_port_is_reached_at_the_engine_s_address_not_the_host_s_loopback(instance: dict[str, str]) -> None:
    run = _inner("run", "-d", "--rm", "-p", "8000", "python:3.13-slim", "python3", "-m", "http.server", "8000")
    assert run.returncode == 0, run.stderr
    container = run.stdout.strip()
    try:
        port = int(_inner("port", container, "8000").stdout.splitlines()[0].rsplit(":", 1)[1])
        address = control.status().published_host
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{address}:{port}/", timeout=3) as answer:
                    assert answer.status == 200
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3)
    finally:
        _inner("rm", "-f", container)


def test_a_stopped_engine_and_a_stale_socket_come_back_with_start(instance: dict[str, str]) -> None:
    control.stop(lambda _: None)
    assert control.status().state == "stopped"
    result = CliRunner().invoke(main, ["engine", "status"])
    assert result.exit_code == 1 and "mastery engine start" in result.output
    # What an engine killed with the host leaves: a socket file nobody listens on.
    places.socket_path().unlink(missing_ok=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(places.socket_path()))
    stale.close()
    assert places.socket_path().is_socket()
    assert control.start(lambda _: None, seed=SEED).state == "running"
    assert _inner("info", "--format", "{{.ServerVersion}}").stdout.startswith("28.")


def test_a_hung_engine_gives_doctor_a_clear_line_with_the_fix(instance: dict[str, str]) -> None:
    assert _host("pause", NAME).returncode == 0
    try:
        state = control.status()
        assert state.state == "unresponsive" and "does not answer" in state.detail
        with engine.using(resolve(COURSE)):
            findings = doctor.diagnose()
        line = findings[0]
        assert line.name == "Course engine" and not line.ok
        assert "mastery engine start" in line.fix and "MASTERY_ENGINE=host" in line.fix
    finally:
        _host("unpause", NAME)
    assert control.start(lambda _: None, seed=SEED).state == "running"


def test_reset_throws_the_engine_s_state_away_and_brings_the_base_images_back(instance: dict[str, str]) -> None:
    assert _inner("volume", "create", "learner-data").returncode == 0
    assert control.reset(lambda _: None, seed=SEED).state == "running"
    assert "learner-data" not in _inner("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert set(_inner("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()) == set(SEED)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, within_s: float = 30) -> int:
    deadline = time.monotonic() + within_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return int(answer.status)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_forward_brings_its_ports_to_this_machine_s_loopback_and_closes_them_when_they_go(
        instance: dict[str, str]) -> None:
    loopback, everywhere, taken = _free_port(), _free_port(), _free_port()
    holder = socket.socket()  # something of this machine's own on `taken`: it keeps it
    holder.bind(("127.0.0.1", taken))
    holder.listen()
    names = []
    for name, publish in (("on-loopback", f"127.0.0.1:{loopback}:8000"), ("everywhere", f"{everywhere}:8000"),
                          ("clashing", f"127.0.0.1:{taken}:8000")):
        run = _inner("run", "-d", "--name", name, "-p", publish, "python:3.13-slim", "python3", "-m", "http.server", "8000")
        assert run.returncode == 0, run.stderr
        names.append(name)
    lines: list[str] = []
    seen: dict[str, dict[int, int]] = {}
    state: dict[str, object] = {}

    async def follow() -> None:
        stop = asyncio.Event()
        state["stop"], state["loop"] = stop, asyncio.get_running_loop()
        await port_forward.forward(lines.append, stop, interval_s=0.3,
                                   ready=lambda forwarder: seen.update(now=forwarder.local_ports))

    follower = threading.Thread(target=asyncio.run, args=(follow(),))
    follower.start()

    def wait_for(predicate: Callable[[dict[int, int]], bool]) -> dict[int, int]:
        deadline = time.monotonic() + 30
        while not predicate(seen.get("now", {})):
            assert time.monotonic() < deadline, lines
            time.sleep(0.1)
        return seen["now"]

    try:
        forwards = wait_for(lambda now: {loopback, everywhere, taken} <= set(now))
        assert forwards[loopback] == loopback and forwards[everywhere] == everywhere
        assert forwards[taken] != taken
        # Bound on the engine's loopback (through socat in the engine) or on all its addresses (directly).
        for port in (loopback, everywhere, forwards[taken]):
            assert _get(f"http://127.0.0.1:{port}/") == 200
        assert f"127.0.0.1:{taken} is taken on this machine, so port {taken} of clashing (course engine) is at " \
               f"http://127.0.0.1:{forwards[taken]}" in lines
        _inner("rm", "-f", *names)
        names.clear()
        wait_for(lambda now: not now)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", loopback), timeout=3).close()
        assert f"http://127.0.0.1:{loopback} closed: on-loopback no longer publishes port {loopback}" in lines
    finally:
        if "loop" in state:
            state["loop"].call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
        follower.join(timeout=30)
        holder.close()
        if names:
            _inner("rm", "-f", *names)

"""Run a learner's image under limits and watch it come up.

testcontainers starts and removes the container; the limits (memory, pids, CPU, no privilege,
no host mounts) are ours. Whatever goes wrong becomes a Readiness with a message, never a traceback.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import docker.errors
from docker.models.containers import Container
from docker.types import DeviceRequest
from testcontainers.core.container import DockerContainer

from graders import engine
from graders import front as front_module
from graders.errors import ContainerFailed
from graders.exec_probe import exec_in
from graders.limits import Limits
from graders.stopped import stopped

LOG_TAIL_LINES = 20
UNHEALTHY_GRACE_S = 8.0  # how long a failing probe is tolerated once the app serves
HTTP_ANSWER_S = 2.0  # how long serves_http waits for the status line
LOOPBACK_GRACE_S = 2.0  # a server seen listening on loopback only for this long is reported at once
PROBE_TIMEOUT_SLACK = 3  # how many times its declared timeout the grader lets a HEALTHCHECK probe run


def engine_host() -> str:
    """Where published ports can be reached: the engine's host for a TCP or SSH engine, else loopback."""
    return engine.site().published_host


def health_override(image_health: dict[str, Any] | None, limits: Limits) -> dict[str, Any] | None:
    """The image's own HEALTHCHECK test, run with a short interval so the grader need not wait 30 s.

    The declared interval, timeout and retries are judged by a static check; here only whether the probe passes
    matters. The probe gets up to PROBE_TIMEOUT_SLACK times its declared timeout (within 10 s): on a loaded
    grading host a Python probe that takes 0.2 s idle was seen to run past a declared 3 s.
    """
    if not image_health or not image_health.get("Test") or image_health["Test"][0] == "NONE":
        return None
    declared_ns = int(image_health.get("Timeout") or 30e9)
    timeout_ns = max(min(declared_ns * PROBE_TIMEOUT_SLACK, int(10e9)), min(declared_ns, int(10e9)))
    return {
        "test": image_health["Test"],
        "interval": int(limits.health_interval_s * 1e9),
        "timeout": timeout_ns,
        "retries": int(image_health.get("Retries") or 3),
        # 1 ms, not 0: the engine reads 0 as "inherit the image's start period" (seen: a 20 s wait).
        "start_period": 1_000_000,
    }


@dataclass
class Readiness:
    ready: bool
    seconds: float
    message: str
    hint: str = ""
    healthy: bool | None = None  # None: the image declares no healthcheck
    fatal: bool = False  # dead, out of memory or out of processes: nothing in the container can be judged


class RunningContainer:
    """A started container: its address, logs, exec and state, with hard time limits on each call."""

    def __init__(self, tc: DockerContainer, port: int | None, limits: Limits, front: Container | None = None) -> None:
        self.tc = tc
        self.container: Container = tc.get_wrapped_container()
        self.limits = limits
        self.container_port = port
        self.front = front  # the grader's container that publishes `port` (graders/front.py)
        self.host = engine_host()
        self.host_port = front_module.published_port(front.attrs, front_module.FIRST_PORT) if front else None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.host_port}"

    def state(self) -> dict[str, Any]:
        self.container.reload()
        state: dict[str, Any] = self.container.attrs["State"]
        return state

    def logs_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            raw: bytes = self.container.logs(tail=lines)
        except docker.errors.APIError:
            return ""
        return raw.decode("utf-8", "replace").rstrip()

    def exec(self, argv: list[str], timeout_s: float = 15.0) -> tuple[int, str]:
        """Run argv inside the container: (exit code, output), as graders/exec_probe.py runs it."""
        code, output = exec_in(self.container.id, argv, timeout_s)
        return code, output.strip()

    def listening_addresses(self) -> list[str] | None:
        """The addresses (hex, as /proc/net writes them) the container's own socket table shows listening at the
        lab's port; None when the table cannot be read (no port, or no cat in the image)."""
        if self.container_port is None:
            return None
        code, out = self.exec(["cat", "/proc/net/tcp", "/proc/net/tcp6"], timeout_s=5)
        if code != 0:
            return None
        port = f"{self.container_port:04X}"
        local = [line.split()[1] for line in out.splitlines()[1:] if len(line.split()) > 3 and line.split()[3] == "0A"]
        return [addr.rsplit(":", 1)[0] for addr in local if addr.rsplit(":", 1)[-1] == port]

    def listens_on_loopback_only(self) -> bool:
        """True when the container's own socket table shows a listener on 127.0.0.1/::1 at the lab's port
        and none on all interfaces (read from /proc/net, so it needs no tool but cat)."""
        mine = self.listening_addresses()
        loopback = {"0100007F", "00000000000000000000000001000000"}
        return bool(mine) and all(addr in loopback for addr in mine or ())

    def serves_http(self) -> bool:
        """Something at the port answered an HTTP request through the front, with any status. Listening is not
        serving: gunicorn's master listens at once while its workers still load the app, and under load that
        took longer than the unhealthy grace, so a correct probe was taken for a wrong one."""
        if self.host_port is None:
            return False
        try:
            with socket.create_connection((self.host, self.host_port), timeout=1) as sock:
                sock.settimeout(HTTP_ANSWER_S)
                sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
                return sock.recv(16).startswith(b"HTTP/")
        except OSError:
            return False

    def server_answers(self) -> bool:
        """The port answers through the front and, where the container's socket table can be read, something
        inside listens at it. The front's own answer alone is not enough: on a loaded host it can close a
        refused connection later than port_open waits, which reads as open while nothing listens (suspected,
        not proven, in an ml-api failure under load)."""
        if not self.port_open():
            return False
        listening = self.listening_addresses()
        return listening is None or bool(listening)

    def pids(self) -> int | None:
        try:
            stats = self.container.stats(stream=False, one_shot=True)
        except (docker.errors.APIError, TypeError):
            return None
        current = (stats.get("pids_stats") or {}).get("current")
        return int(current) if current is not None else None

    def port_open(self) -> bool:
        if self.host_port is None:
            return False
        try:
            with socket.create_connection((self.host, self.host_port), timeout=0.5) as sock:
                # The proxy accepts at once even when nothing listens inside; a closed peer shows on recv.
                sock.settimeout(0.2)
                try:
                    return sock.recv(1, socket.MSG_PEEK) != b""
                except TimeoutError:
                    return True
        except OSError:
            return False

    def diagnose(self) -> tuple[str, str] | None:
        """Why the container is not usable, as (message, hint); None while it runs normally."""
        down = stopped(self.state())
        if down is not None and down.out_of_memory:
            return (f"The container was stopped for using more than {self.limits.memory_bytes // 2**20} MB of memory.",
                    "Something holds far more data in memory than this lab needs; load less, or load it lazily.")
        if down is not None:
            logs = self.logs_tail()
            return (f"The container stopped right after it started (exit code {down.exit_code}). Its last log lines:\n"
                    f"{logs or '(no output)'}",
                    "Run the image yourself (docker run --rm IMAGE) and read the error; check CMD/ENTRYPOINT and "
                    "that every file the app opens was copied into the image.")
        pids = self.pids()
        if pids is not None and pids >= self.limits.pids - 2:
            return (f"The container hit its process limit ({self.limits.pids} processes).",
                    "Something starts processes without end (a fork bomb, or a worker pool with no bound); "
                    "a model server needs a handful of workers, not hundreds.")
        return None

    def stop(self) -> None:
        if self.front is not None:
            with contextlib.suppress(docker.errors.NotFound):
                self.front.remove(force=True, v=True)
        with contextlib.suppress(docker.errors.NotFound):
            self.tc.stop(force=True, delete_volume=True)


def start_container(image: str, labels: dict[str, str], limits: Limits, port: int | None,
                    health: dict[str, Any] | None, env: dict[str, str] | None = None,
                    volume: tuple[str, str] | None = None, *, command: list[str] | None = None,
                    network: str = "bridge", front_network: str | None = None, devices: Sequence[str] = (),
                    device_requests: Sequence[DeviceRequest] = (),
                    read_only: Sequence[tuple[str, str]] = (), dns: Sequence[str] = ()) -> RunningContainer:
    """Create and start the container. On any failure nothing is left running.

    volume: (host folder, container path), a folder the grader made; never anything else of the host.
    devices, device_requests, read_only: what hands a GPU over (graders.checks.gpu), and nothing else.
    network, dns: the run's own network and the name servers the embedded DNS forwards to (graders.netpolicy).
    front_network: where the grader's front publishes `port` from (graders.front); needed when `port` is given.
    """
    tc = DockerContainer(image, docker_client_kw={"environment": engine.address().env()})
    for key, value in (env or {}).items():
        tc.with_env(key, value)
    if volume is not None:
        tc.with_volume_mapping(volume[0], volume[1], "rw")
    for host_path, container_path in read_only:
        tc.with_volume_mapping(host_path, container_path, "ro")
    if command is not None:
        tc.with_command(command)
    kwargs: dict[str, Any] = {
        "labels": labels,
        "mem_limit": limits.memory_bytes,
        "memswap_limit": limits.memory_bytes,  # no swap: a memory hog is stopped, not slowed
        "pids_limit": limits.pids,
        "nano_cpus": limits.nano_cpus,
        "privileged": False,
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_CHROOT"],
        "network": network,
        "detach": True,
    }
    if devices:
        kwargs["devices"] = list(devices)
    if device_requests:
        kwargs["device_requests"] = list(device_requests)
    if health is not None:
        kwargs["healthcheck"] = health
    if dns:
        kwargs["dns"] = list(dns)
    tc.with_kwargs(**kwargs)
    try:
        tc.start()
        front = None
        if port is not None:
            assert front_network is not None, "a published port needs the front's network"
            wrapped = tc.get_wrapped_container()
            wrapped.reload()
            address = ((wrapped.attrs["NetworkSettings"]["Networks"] or {}).get(network) or {}).get("IPAddress")
            if address:  # none when it died at once: readiness reports that, with its logs
                # Loopback only: a learner's server is not offered to the network, even for the seconds of a check.
                host_ip = engine.site().publish_on
                front = front_module.start_container_front(address, port, [front_network, network], labels, host_ip)
        return RunningContainer(tc, port, limits, front)
    except docker.errors.APIError as exc:
        _quiet_stop(tc)
        raise ContainerFailed(f"The container could not start: {exc.explanation or exc}",
                              "Check CMD and ENTRYPOINT: the program they name must exist in the image.") from exc
    except BaseException:
        _quiet_stop(tc)
        raise


def _quiet_stop(tc: DockerContainer) -> None:
    """Cleanup after a failed start; the label sweep catches whatever this misses."""
    with contextlib.suppress(Exception):
        tc.stop(force=True, delete_volume=True)


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None  # None: still running when its time ran out
    output: str
    seconds: float


def run_to_completion(rc: RunningContainer, timeout_s: float) -> RunResult:
    """Wait for a batch job to finish; a job that outlives its time is reported, then removed by teardown."""
    started = time.monotonic()
    try:
        status = rc.container.wait(timeout=timeout_s)
        code: int | None = int(status.get("StatusCode", -1))
    except Exception:  # the wait timed out (requests raises its own exception types)
        code = None
    raw: bytes = rc.container.logs()
    return RunResult(code, raw.decode("utf-8", "replace").rstrip(), time.monotonic() - started)


def wait_ready(rc: RunningContainer, budget_s: float, expects_health: bool) -> Readiness:
    """Wait until healthy (or, with no healthcheck, until the port opens), the container dies, or budget runs out."""
    started = time.monotonic()
    deadline = started + budget_s
    serving_since: float | None = None
    while True:
        state = rc.state()
        elapsed = time.monotonic() - started
        if state.get("Status") != "running":
            diagnosis = rc.diagnose()
            msg, hint = diagnosis or ("The container is not running.", "Run it by hand and read its logs.")
            return Readiness(False, elapsed, msg, hint, healthy=False if expects_health else None,
                             fatal=diagnosis is not None)
        if expects_health:
            status = (state.get("Health") or {}).get("Status")
            if status == "healthy":
                return Readiness(True, elapsed, f"healthy after {elapsed:.1f} s", healthy=True)
            # The server serves yet the probe keeps failing: the probe is wrong, waiting will not help. Once the
            # server was seen serving, the front's answer is enough. A server that does not speak HTTP is given
            # the whole budget instead.
            if status == "unhealthy" and (rc.port_open() if serving_since else rc.serves_http()):
                serving_since = serving_since or time.monotonic()
                if time.monotonic() - serving_since >= UNHEALTHY_GRACE_S:
                    return _not_ready(rc, state, elapsed, expects_health)
            else:
                serving_since = None
        elif rc.server_answers():
            return Readiness(True, elapsed, f"port {rc.container_port} answered after {elapsed:.1f} s")
        elif elapsed > LOOPBACK_GRACE_S and rc.listens_on_loopback_only():
            # Listening, but where nothing outside the container can reach: waiting longer will not help.
            return Readiness(False, elapsed, f"The server listens on 127.0.0.1:{rc.container_port} inside the container, "
                             "so nothing outside the container can reach it.",
                             f"Listen on 0.0.0.0:{rc.container_port} (e.g. --bind 0.0.0.0:{rc.container_port} or "
                             "--ip=0.0.0.0).")
        if time.monotonic() >= deadline:
            return _not_ready(rc, state, elapsed, expects_health)
        time.sleep(0.1)


def _not_ready(rc: RunningContainer, state: dict[str, Any], elapsed: float, expects_health: bool) -> Readiness:
    diagnosis = rc.diagnose()
    if diagnosis:
        return Readiness(False, elapsed, diagnosis[0], diagnosis[1], healthy=False if expects_health else None,
                         fatal=True)
    if expects_health:
        log = (state.get("Health") or {}).get("Log") or []
        probes = "\n".join(f"  exit {p.get('ExitCode')}: {(p.get('Output') or '').strip()[:300]}" for p in log[-3:])
        return Readiness(False, elapsed,
                         f"The container was not healthy after {elapsed:.0f} s. Last health probes:\n"
                         f"{probes or '  (none ran)'}",
                         "Run the HEALTHCHECK command by hand inside the container (docker exec) and make it exit 0; "
                         "it must test the real service (e.g. GET /health on the port the app listens on).",
                         healthy=False)
    return Readiness(False, elapsed, f"Nothing answered on port {rc.container_port} within {elapsed:.0f} s.",
                     f"The server must listen on 0.0.0.0:{rc.container_port} inside the container, "
                     "not 127.0.0.1 (which only the container itself can reach).")

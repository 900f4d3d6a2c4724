"""A client of the API inside the stack's network, asking it all the time while Swarm updates the service: the
grader's own service (one replica of a base image, on the stack's overlay network), removed at the end.

It asks `tasks.<service>` (Swarm's DNS answer with one address per running task) for the replicas before every
request, as a client behind DNS round robin does, and sends each request to the next of them. A request whose
replica refused it is sent once more to another replica (a load balancer's retry) before it counts as failed."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import docker.errors

from graders import engine, swarm_mode
from graders.labels import RUN_LABEL

READY_S = 30.0  # for the probe's first answer from the API
PROBE_MEMORY = "64m"

CLIENT = """
import socket, sys, time, urllib.request
name, port, path = sys.argv[1], sys.argv[2], sys.argv[3]
turn = 0

def ask(ip):
    with urllib.request.urlopen(f"http://{ip}:{port}{path}", timeout=2) as answer:
        answer.read()
        return answer.status

while True:
    try:
        ips = sorted(socket.gethostbyname_ex(name)[2])
    except OSError as exc:
        ips = []
    if not ips:
        print("fail no replica answers to the name", name, flush=True)
        time.sleep(0.2)
        continue
    turn += 1
    outcome = None
    for ip in (ips[turn % len(ips)], ips[(turn + 1) % len(ips)]):
        try:
            status = ask(ip)
            outcome = f"ok {ip}" if status < 500 else f"fail {ip} answered {status}"
            if status < 500:
                break
        except Exception as exc:
            outcome = f"fail {ip} {type(exc).__name__}: {exc}"
    print(outcome, flush=True)
    time.sleep(0.1)
"""


@dataclass(frozen=True)
class ProbeLog:
    answered: int
    failed: list[str]  # the failures, as the probe printed them


class Probe:
    def __init__(self, name: str) -> None:
        self.name = name
        self._mark = 0  # the number of lines already read when `mark` was called

    def _lines(self) -> list[str]:
        for task in swarm_mode.tasks(self.name):
            if task.container:
                with contextlib.suppress(docker.errors.NotFound):
                    text: bytes = engine.client().api.logs(task.container, stdout=True, stderr=True)
                    return text.decode("utf-8", "replace").splitlines()
        return []

    def wait_answering(self, budget_s: float = READY_S) -> bool:
        deadline = time.monotonic() + budget_s
        while time.monotonic() < deadline:
            if any(line.startswith("ok ") for line in self._lines()):
                return True
            time.sleep(0.3)
        return False

    def mark(self) -> None:
        """From now on: what `since_mark` reports."""
        self._mark = len(self._lines())

    def since_mark(self) -> ProbeLog:
        lines = self._lines()[self._mark:]
        return ProbeLog(sum(line.startswith("ok ") for line in lines), [line for line in lines if line.startswith("fail")])


@contextlib.contextmanager
def probing(project: str, network: str, service: str, port: int, path: str, image: str, run_id: str) -> Iterator[Probe]:
    name = f"{project}_mastery-probe"
    made = swarm_mode.run_docker(
        "service", "create", "--detach", "--no-resolve-image", "--name", name, "--network", network,
        "--restart-condition", "none", "--limit-memory", PROBE_MEMORY, "--label", f"{RUN_LABEL}={run_id}",
        "--container-label", f"{RUN_LABEL}={run_id}", image, "python", "-c", CLIENT, f"tasks.{service}", str(port), path)
    if made.returncode != 0:
        raise RuntimeError(f"the grader's probe could not start: {made.stderr.strip()[-300:]}")
    try:
        yield Probe(name)
    finally:
        swarm_mode.run_docker("service", "rm", name)

"""Grading goes wherever DOCKER_HOST points, and only there: a Dockerfile lab and a compose lab graded on a
second dockerd this test starts (its own socket, data root, exec root and bridge), while the default engine
is left exactly as it was; and a cohort spread over two such engines gets every verdict when one of them stops.

Each extra engine leaves the host's iptables alone (`--iptables=false`): the test gives its bridge the one
NAT rule builds need to reach PyPI, and takes it away again. Base images come from the default engine
(`docker save | docker load`), as an instructor would seed a fresh engine offline.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from graders import engine
from graders.labs import get_lab
from graders.submission import materialize

pytestmark = [pytest.mark.engine, pytest.mark.slow]


@dataclass(frozen=True)
class ExtraEngine:
    """The addresses of one extra engine: its bridge, the bridge's subnet, and the pool its networks come from,
    so the rules below match its traffic and no other's."""

    index: int  # 0: the second engine, 1: the third

    @property
    def bridge(self) -> str:
        return f"mastery-e{self.index + 2}"

    @property
    def subnet(self) -> str:
        return f"10.{213 + 2 * self.index}.0.1/24"

    @property
    def pool(self) -> str:
        return f"10.{214 + 2 * self.index}.0.0/16"

    def rules(self) -> list[list[str]]:
        """The only iptables rules the test adds: NAT for the engine's default bridge (builds reach PyPI), and
        forwarding through the default engine's FORWARD policy (DROP) for that bridge and between the
        containers of the engine's own networks (with br_netfilter, traffic inside a bridge passes FORWARD
        too). Inserted at setup, deleted at teardown."""
        network = self.subnet.replace(".1/24", ".0/24")
        return [["-t", "nat", "{action}", "POSTROUTING", "-s", network, "!", "-o", self.bridge, "-j", "MASQUERADE"],
                ["{action}", "FORWARD", "-i", self.bridge, "-j", "ACCEPT"],
                ["{action}", "FORWARD", "-o", self.bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
                 "-j", "ACCEPT"],
                ["{action}", "FORWARD", "-s", self.pool, "-d", self.pool, "-j", "ACCEPT"]]


LABS = ("ml-api", "secure-runtime")
DAEMONS: dict[str, subprocess.Popen[bytes]] = {}  # each extra engine's dockerd, for the test that stops one


def _sh(*argv: str, check: bool = True) -> None:
    subprocess.run(argv, check=check, capture_output=True, timeout=60)


def _rules(extra: ExtraEngine, action: str, check: bool = True) -> None:
    """Insert (-I) or delete (-D) the rules that let an extra engine's bridge reach the internet."""
    for rule in extra.rules():
        _sh("iptables", *(action if word == "{action}" else word for word in rule), check=check)


def _bridges_in(pool: str) -> list[str]:
    """The interfaces of this machine with an IPv4 address inside `pool`."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=30).stdout
    network = ipaddress.ip_network(pool)
    return [fields[1] for fields in (line.split() for line in out.splitlines())
            if len(fields) > 3 and ipaddress.ip_interface(fields[3]).ip in network]


def _counts(client: docker.DockerClient) -> dict[str, set[str]]:
    return {"containers": {c.id for c in client.containers.list(all=True)},
            "images": {i.id for i in client.images.list(all=True)},
            "volumes": {v.id for v in client.volumes.list()},
            "networks": {n.id for n in client.networks.list()}}


def _extra_engine(extra: ExtraEngine) -> Iterator[str]:
    """A dockerd of the test's own (socket, data root, exec root, bridge), seeded with the labs' base images."""
    if os.geteuid() != 0 or shutil.which("dockerd") is None or shutil.which("iptables") is None:
        pytest.skip("starting another Docker Engine needs root, dockerd and iptables on this host")
    root = Path(tempfile.mkdtemp(prefix=f"extra-engine-{extra.index}-"))
    url = f"unix://{root}/docker.sock"
    _rules(extra, "-D", check=False)  # what a run killed mid-way may have left
    _sh("ip", "link", "delete", extra.bridge, check=False)
    _sh("ip", "link", "add", extra.bridge, "type", "bridge")
    proc = None
    try:
        _sh("ip", "addr", "add", extra.subnet, "dev", extra.bridge)
        _sh("ip", "link", "set", extra.bridge, "up")
        _rules(extra, "-I")
        log = (root / "dockerd.log").open("w")
        proc = subprocess.Popen(["dockerd", "--host", url, "--data-root", str(root / "data"), "--exec-root",
                                 str(root / "exec"), "--pidfile", str(root / "docker.pid"), "--bridge", extra.bridge,
                                 "--iptables=false", "--ip-masq=false", "--exec-opt", "native.cgroupdriver=cgroupfs",
                                 "--default-address-pool", f"base={extra.pool},size=24"],
                                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                docker.DockerClient(base_url=url, timeout=10).ping()
                break
            except docker.errors.DockerException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"the extra dockerd did not start:\n{(root / 'dockerd.log').read_text()[-2000:]}")
                time.sleep(0.5)
        refs = sorted({"python:3.13-slim", *get_lab("ml-api").base_images, *get_lab("secure-runtime").base_images})
        save = subprocess.Popen(["docker", "-H", engine.address().url, "save", *refs], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", url, "load", "-q"], stdin=save.stdout, check=True, capture_output=True,
                       timeout=300)
        assert save.wait(timeout=60) == 0
        DAEMONS[url] = proc
        yield url
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        _rules(extra, "-D", check=False)
        _sh("ip", "link", "delete", extra.bridge, check=False)
        for bridge in _bridges_in(extra.pool):  # a network of a grading the stopped engine never removed
            _sh("ip", "link", "delete", bridge, check=False)
        _sh("umount", "-R", str(root / "exec"), check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def second_engine() -> Iterator[str]:
    yield from _extra_engine(ExtraEngine(0))


@pytest.fixture(scope="module")
def third_engine() -> Iterator[str]:
    yield from _extra_engine(ExtraEngine(1))


@pytest.mark.parametrize("lab_id", LABS)
def test_a_lab_is_graded_on_the_engine_docker_host_names_and_nowhere_else(
        lab_id: str, second_engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from graders.runner import grade

    default = engine.client()
    before = _counts(default)
    monkeypatch.setenv("DOCKER_HOST", second_engine)
    monkeypatch.delenv("MASTERY_ENGINE", raising=False)
    try:
        assert engine.use().url == second_engine
        spec = get_lab(lab_id)
        report = grade(spec, materialize(spec, None, into=tmp_path / "sub"))
        failed = {r.name: r.message for r in report.results if not r.passed}
        assert not failed, failed
        assert report.score == report.max_score == spec.total_points
        second = engine.client()
        assert engine.labelled().total == 0, "the run left labelled objects on the engine it graded on"
        assert not second.containers.list(all=True)
    finally:
        monkeypatch.undo()
        engine.use()
    assert engine.client().api.base_url == default.api.base_url
    assert _counts(engine.client()) == before, "grading on the second engine changed the default one"


def _lab_containers(client: docker.DockerClient, since: int, lab_id: str) -> int:
    """How many containers of a lab the engine created since `since` (from its event log)."""
    events = client.events(since=since, until=int(time.time()) + 1, decode=True,
                           filters={"type": "container", "event": "create", "label": f"io.mastery.lab={lab_id}"})
    return sum(1 for _ in events)


def test_one_process_grades_on_two_engines_at_once(second_engine: str, tmp_path: Path) -> None:
    """What cohort grading across engines needs: two runs in two threads of one process, one given the second
    engine (`grade(on=...)`), one on the process's engine; each run's containers, in every thread it starts,
    go to its own engine only, and the process's choice is the same afterwards."""
    import concurrent.futures

    from graders.engine_address import resolve
    from graders.runner import grade

    default_url = engine.address().url
    before = _counts(engine.client())
    since = int(time.time()) - 1
    jobs = {"ml-api": resolve(second_engine), "secure-runtime": None}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {lab_id: pool.submit(grade, get_lab(lab_id), materialize(get_lab(lab_id), None, into=tmp_path / lab_id),
                                       on=on) for lab_id, on in jobs.items()}
        reports = {lab_id: future.result(timeout=900) for lab_id, future in futures.items()}
    for lab_id, report in reports.items():
        failed = {r.name: r.message for r in report.results if not r.passed}
        assert not failed, (lab_id, failed)
    second = docker.DockerClient(base_url=second_engine, timeout=30)
    assert _lab_containers(second, since, "ml-api") > 0 and _lab_containers(second, since, "secure-runtime") == 0
    default = engine.client()
    assert _lab_containers(default, since, "secure-runtime") > 0 and _lab_containers(default, since, "ml-api") == 0
    assert engine.address().url == default_url
    after = _counts(default)  # its images stay, untagged, as build cache
    assert all(after[kind] == before[kind] for kind in ("containers", "volumes", "networks")), \
        "the run left something on the default engine"
    assert not second.containers.list(all=True), "the run left containers on the second engine"


def test_a_cohort_survives_an_engine_that_stops_mid_run(second_engine: str, third_engine: str, tmp_path: Path) -> None:
    """`mastery grade` over two extra engines of the test's own; the second stops (SIGTERM, as at a host's
    shutdown) while it grades. Every learner still gets the verdict their work earns, the gradings it had
    in flight are done again on the third, and none is a 0 of the grader's making. The suite's engine takes
    no part. Runs last in this module: the second engine does not come back."""
    import threading

    from graders.cohort.discover import Learner
    from graders.cohort.pool import grade_cohort
    from graders.cohort.store import ResultStore
    from graders.engine_address import resolve
    from graders.submission import variant

    spec = get_lab("ml-api")
    cohort = {"alice": None, "bob": "broken/no-healthcheck", "carol": "alternatives/model-path-env", "dave": None}
    learners = [Learner(name, materialize(spec, variant(spec, v) if v else None, into=tmp_path / name))
                for name, v in cohort.items()]
    second = docker.DockerClient(base_url=second_engine, timeout=30)
    stopped = threading.Event()

    def stop_when_busy() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if second.containers.list(filters={"label": "io.mastery.lab=ml-api"}):
                    break
            except docker.errors.DockerException:
                return
            time.sleep(0.2)
        DAEMONS[second_engine].terminate()
        stopped.set()

    killer = threading.Thread(target=stop_when_busy, daemon=True)
    killer.start()
    graded = grade_cohort(spec, learners, ResultStore(tmp_path / "out"),
                          engines=[resolve(second_engine), resolve(third_engine)], jobs=1)
    killer.join(timeout=60)
    assert stopped.is_set(), "the second engine never had a grading in flight to be stopped under"
    for g in graded:
        assert not g.needs_rerun, (g.learner.name, g.report.results[0].message)
        lost = set(variant(spec, cohort[g.learner.name]).fails) if cohort[g.learner.name] and \
            cohort[g.learner.name].startswith("broken/") else set()
        assert g.report.failed_names() == lost, (g.learner.name, {r.name: r.message for r in g.report.results})
    moved = [g for g in graded if g.attempts > 1]
    assert moved and all(g.engine == third_engine for g in moved), [(g.learner.name, g.engine) for g in graded]
    assert {g.engine for g in graded} <= {second_engine, third_engine}, [(g.learner.name, g.engine) for g in graded]

"""Containment of the network: a graded container or stack reaches its own services and nothing else.

The test plays the rest of the machine: a canary HTTP server on the host's 0.0.0.0, a container on the default
bridge, the metadata address and a PyPI address. A probe inside the graded containers (python's socket, short
timeouts, all targets at once) says what it reached; the same probe in a container on the default bridge shows
that it can see each of them, so a `blocked` means something.

A learner's container never publishes a port itself: a container on a bridge with an address reaches the host's
own services through it. The grader's front container (graders/front.py) publishes and forwards instead, so a
service the grader reaches from the host reaches no more than one without ports.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from docker.models.containers import Container

from graders import compose_model, engine, front, netpolicy
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.front import FIRST_PORT, FRONT, Forward
from graders.front import IMAGES as FRONT_IMAGES
from graders.front import forwards_of as front_forwards_of
from graders.limits import Limits
from graders.package_cache.service import host_gateway
from graders.results import Category, Status
from graders.runner import grade
from graders.spec import LabSpec

TESTS = Path(__file__).resolve().parent
BASE_IMAGE = "python:3.13-slim"
LIMITS = Limits(build_timeout_s=120, health_budget_s=30, run_timeout_s=60, memory_bytes=128 * 2**20, pids=64)
# Connects to every target at once (threads), each within 1.5 s; resolves names; prints JSON. Default-route
# gateways from the container's own routing table are added as targets: a bridge address is the host.
PROBE = r'''
import json, socket, struct, sys, threading
targets = json.loads(sys.argv[1])
for line in open("/proc/net/route").read().splitlines()[1:]:
    f = line.split()
    if len(f) > 2 and f[2] != "00000000":
        gateway = socket.inet_ntoa(struct.pack("<L", int(f[2], 16)))
        targets["route-gateway " + gateway] = gateway + ":" + sys.argv[2]
found = {}
def reach(label, address):
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1.5) as s:
            s.settimeout(1.5)
            s.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            found[label] = "reached: " + repr(s.recv(12))
    except Exception as exc:
        found[label] = "blocked: " + type(exc).__name__
def resolve(name):
    try:
        found["dns " + name] = "reached: " + socket.gethostbyname(name)
    except Exception as exc:
        found["dns " + name] = "blocked: " + type(exc).__name__
threads = [threading.Thread(target=reach, args=item) for item in targets.items()]
threads += [threading.Thread(target=resolve, args=(name,)) for name in sys.argv[3:]]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(found))
'''
DOCKERFILE = f"FROM {BASE_IMAGE}\nCOPY probe.py /probe.py\nUSER nobody\nCMD [\"python\", \"-m\", \"http.server\", \"8080\"]\n"
COMPOSE = """services:
  web:
    build: .
    ports: ["8080"]
  peer:
    build: .
    command: ["python", "-m", "http.server", "8081"]
"""


@dataclass
class Outside:
    """What the machine offers around a graded run, and what an uncontained container reaches of it."""

    canary_port: int
    targets: dict[str, str]  # label -> host:port
    control: dict[str, str] = field(default_factory=dict)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _host_address(toward: str) -> str:
    """The host's own address on its way out (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((toward, 443))
        address: str = s.getsockname()[0]
        return address


def probe_argv(targets: dict[str, str], canary_port: int, names: tuple[str, ...] = ("pypi.org",)) -> list[str]:
    return ["python", "/probe.py", json.dumps(targets), str(canary_port), *names]


def _serving(container: Container, port: int, timeout_s: float = 30.0) -> None:
    """Wait until the container's server accepts connections: Python first compiles the standard library it
    imports (the python images ship without .pyc files), which can take a second or two."""
    deadline = time.monotonic() + timeout_s
    probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1)"
    while container.exec_run(["python", "-c", probe]).exit_code != 0:
        assert time.monotonic() < deadline, f"the bystander never served on {port}: {container.logs()[-500:]!r}"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def outside() -> Iterator[Outside]:
    """A canary on the host's 0.0.0.0, a bystander on the default bridge, the metadata address and PyPI."""
    canary = http.server.ThreadingHTTPServer(("0.0.0.0", 0), _Quiet)
    threading.Thread(target=canary.serve_forever, daemon=True).start()
    port = canary.server_address[1]
    client = engine.client()
    bystander = client.containers.run(BASE_IMAGE, ["python", "-m", "http.server", "8000"], detach=True, network="bridge")
    try:
        _serving(bystander, 8000)
        bystander.reload()
        docker0 = bystander.attrs["NetworkSettings"]["Gateway"]  # what host-gateway stands for
        pypi = socket.gethostbyname("pypi.org")
        targets = {
            "host via docker0 (host-gateway)": f"{docker0}:{port}",
            "host via its own address": f"{_host_address(pypi)}:{port}",
            "bystander on the default bridge": f"{bystander.attrs['NetworkSettings']['IPAddress']}:8000",
            "metadata address": "169.254.169.254:80",
            "internet (pypi.org)": f"{pypi}:443",
        }
        if engine.site().shared_folder is not None:
            # The course engine sits on the host engine's bridge, whose gateway is this machine. Nested one level
            # deeper (a CI runner in a container), the engine's own bridge can take the subnet of this machine's
            # own address, which then stays inside the engine: the gateway is reached either way.
            targets["host via the engine's gateway"] = f"{host_gateway()}:{port}"
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200  # the canary serves
        found = Outside(port, targets)
        # The control: the same probe on the default bridge, where nothing is contained.
        out = client.containers.run(BASE_IMAGE, ["python", "-c", PROBE, json.dumps(targets), str(port), "pypi.org"],
                                    network="bridge", remove=True)
        found.control = json.loads(out.decode())
        yield found
    finally:
        bystander.remove(force=True)
        canary.shutdown()
        canary.server_close()


def reached(found: dict[str, str]) -> set[str]:
    return {label for label, said in found.items() if said.startswith("reached")}


HOST = {"host via docker0 (host-gateway)", "host via its own address", "host via the engine's gateway"}


@pytest.mark.engine
def test_the_probe_sees_everything_from_an_uncontained_container(outside: Outside) -> None:
    """Without this, every `blocked` below could be the probe's own failure. In the course engine, docker0's
    gateway and a network's route gateway are the course engine itself, where no canary listens: there this
    machine is reached by its own address only (and the tests below prove a graded container reaches neither)."""
    got = reached(outside.control)
    if engine.site().shared_folder is not None:  # the course engine, a container on this machine's engine
        assert "bystander on the default bridge" in got, outside.control
        assert {"host via its own address", "host via the engine's gateway"} & got, outside.control
        return
    assert (HOST & set(outside.targets)) | {"bystander on the default bridge"} <= got, outside.control
    assert any(label.startswith("route-gateway") for label in got), outside.control


def probing_check(seen: dict[str, Any], outside: Outside, kind: str) -> Check:
    """A runtime check that probes from inside the graded container(s) and the grader's side of the ports."""

    def run(ctx: GradingContext) -> Outcome:
        seen["run_id"] = ctx.run_id
        if ctx.stack is not None:
            for service, peer in (("web", "peer:8081"), ("peer", "web:8080")):
                code, out = ctx.stack.exec(service, probe_argv({**outside.targets, "own peer by name": peer},
                                                                outside.canary_port), timeout_s=30)
                seen[service] = json.loads(out) if code == 0 else {"error": out}
                seen[f"{service} networks"] = sorted(ctx.stack.container(service)["NetworkSettings"]["Networks"])
            seen["front"] = ctx.stack.container(FRONT)
            host_port = ctx.stack.port("web", 8080)
            seen["grader"] = requests.get(f"http://{engine.site().published_host}:{host_port}/", timeout=5).status_code
        else:
            assert ctx.container is not None
            code, out = ctx.container.exec(probe_argv(outside.targets, outside.canary_port), timeout_s=30)
            seen["container"] = json.loads(out) if code == 0 else {"error": out}
            ctx.container.container.reload()
            seen["container networks"] = sorted(ctx.container.container.attrs["NetworkSettings"]["Networks"])
            seen["grader"] = requests.get(ctx.container.base_url + "/", timeout=5).status_code
        return Outcome.passed("probed")

    running = (Need.STACK,) if kind == "compose" else (Need.CONTAINER,)
    return Check("probe", "Probes the network from inside", 1, Category.SECURITY, running, run)


def spec(kind: str, check: Check, **changes: Any) -> LabSpec:
    files = ("compose.yaml",) if kind == "compose" else ("Dockerfile",)
    fields: dict[str, Any] = {"port": 8080, **changes}
    return LabSpec(id=f"netprobe-{kind}", title="Network containment", lesson="", kind=kind, files=files,
                   base_images=(BASE_IMAGE,), checks=(check,), folder=TESTS, limits=LIMITS, **fields)


def submission(tmp_path: Path, compose: bool) -> Path:
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "probe.py").write_text(PROBE)
    (folder / "Dockerfile").write_text(DOCKERFILE)
    if compose:
        (folder / "compose.yaml").write_text(COMPOSE)
    return folder


@pytest.fixture(scope="module")
def graded_stack(outside: Outside, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One graded stack for the tests below: `web` publishes a port, `peer` publishes none."""
    seen: dict[str, Any] = {}
    report = grade(spec("compose", probing_check(seen, outside, "compose"), port=None), submission(tmp_path_factory.mktemp("s"), True))
    assert report.result("probe").status is Status.PASSED, report.result("probe").message
    assert engine.labelled(seen["run_id"]).total == 0, "the run left labelled objects behind"
    return seen


@pytest.mark.engine
def test_a_stack_reaches_its_own_services_by_name_and_the_grader_its_port(graded_stack: dict[str, Any]) -> None:
    assert "own peer by name" in reached(graded_stack["web"]), graded_stack["web"]
    assert "own peer by name" in reached(graded_stack["peer"]), graded_stack["peer"]
    assert graded_stack["grader"] == 200
    for service in ("web", "peer"):  # the publishing network is the grader's front's alone
        assert not any(netpolicy.INGRESS in name for name in graded_stack[f"{service} networks"]), graded_stack


@pytest.mark.engine
def test_the_front_is_the_grader_s_program_contained(graded_stack: dict[str, Any]) -> None:
    front = graded_stack["front"]
    assert front["Config"]["Image"] in FRONT_IMAGES and front["Config"]["User"] == "65534:65534"
    assert front["HostConfig"]["ReadonlyRootfs"] and front["HostConfig"]["CapDrop"] == ["ALL"]
    assert 0 < front["HostConfig"]["Memory"] <= 64 * 2**20 and front["HostConfig"]["PidsLimit"] <= 32
    bindings = [b for ports in front["NetworkSettings"]["Ports"].values() for b in ports or []]
    assert bindings and all(b["HostIp"] == engine.site().publish_on for b in bindings), bindings


@pytest.mark.engine
def test_a_service_without_ports_reaches_nothing_outside(graded_stack: dict[str, Any]) -> None:
    assert reached(graded_stack["peer"]) == {"own peer by name"}, graded_stack["peer"]


@pytest.mark.engine
def test_a_service_with_ports_reaches_no_container_metadata_internet_or_name_outside(graded_stack: dict[str, Any]) -> None:
    got = reached(graded_stack["web"])
    assert not got & {"bystander on the default bridge", "metadata address", "internet (pypi.org)", "dns pypi.org"}, got


@pytest.mark.engine
def test_a_service_with_ports_reaches_no_service_of_the_host(graded_stack: dict[str, Any]) -> None:
    assert reached(graded_stack["web"]) == {"own peer by name"}, graded_stack["web"]


@pytest.mark.engine
def test_a_dockerfile_server_gets_a_network_of_its_own(outside: Outside, tmp_path: Path, no_leftovers: None) -> None:
    seen: dict[str, Any] = {}
    report = grade(spec("dockerfile", probing_check(seen, outside, "dockerfile")), submission(tmp_path, False))
    assert report.result("probe").status is Status.PASSED, report.result("probe").message
    assert seen["grader"] == 200
    assert len(seen["container networks"]) == 1 and seen["container networks"][0].startswith("mastery-netprobe-dockerfile-")
    assert reached(seen["container"]) == set(), seen["container"]


@pytest.mark.engine
def test_a_batch_job_reaches_nothing_at_all(outside: Outside, tmp_path: Path, no_leftovers: None) -> None:
    """No published port, so no bridge address: not even the host. The job prints what its probe found."""
    folder = submission(tmp_path, False)
    (folder / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nCOPY probe.py /probe.py\nUSER nobody\n"
                                       'CMD ["sh", "-c", "exec python /probe.py \\"$TARGETS\\" $PORT pypi.org"]\n')
    seen: dict[str, Any] = {}

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.run_result is not None
        seen["job"] = json.loads(ctx.run_result.output.splitlines()[-1])
        return Outcome.passed("read")

    check = Check("probe", "Reads the job's probe", 1, Category.SECURITY, (Need.JOB_RESULT,), run)
    env = (("TARGETS", json.dumps(outside.targets)), ("PORT", str(outside.canary_port)))
    report = grade(spec("dockerfile", check, port=None, run_mode="batch", run_env=env), folder)
    assert report.result("probe").status is Status.PASSED, report.result("probe").message
    assert reached(seen["job"]) == set(), seen["job"]
    assert len(seen["job"]) >= len(outside.targets) + 1, seen["job"]


# --- The model the grader runs, without an engine ---------------------------------------------------------

LABELS = {"io.mastery.run": "run1"}


def model() -> dict[str, Any]:
    """A model as `docker compose config` writes it, with everything a file could try."""
    return {
        "name": "p",
        "services": {
            "web": {"image": "x", "ports": [{"target": 8080, "host_ip": "127.0.0.1", "published": ""}],
                    "networks": {"front": {"aliases": ["www"], "ipv4_address": "10.0.0.9"}, "default": None},
                    "extra_hosts": ["host.docker.internal:host-gateway"], "dns": ["8.8.8.8"],
                    "external_links": ["other-project-db:db"]},
            "db": {"image": "x", "networks": {"default": None}, "dns_search": ["corp"]},
            "host": {"image": "x", "network_mode": "host"},
            "sidecar": {"image": "x", "network_mode": "service:web"},
            "thief": {"image": "x", "network_mode": "container:someone-elses"},
            "offline": {"image": "x", "network_mode": "none"},
        },
        "networks": {
            "default": {"ipam": {}, "labels": {"mine": "1"}},
            "front": {"external": True, "driver": "macvlan", "driver_opts": {"parent": "eth0"}, "enable_ipv6": True,
                      "ipam": {"config": [{"subnet": "10.0.0.0/24"}]}},
        },
    }


def test_every_network_is_contained_and_ports_get_one_publishing_network() -> None:
    out = netpolicy.contain_stack(model(), LABELS, front_image=FRONT_IMAGES[0])
    nets = out["networks"]
    assert set(nets) == {"default", "front", netpolicy.INGRESS}
    for name in ("default", "front"):
        assert nets[name] == {"driver": "bridge", "internal": True, "driver_opts": netpolicy.CONTAINED_OPTIONS,
                              "enable_ipv6": False, "labels": {**nets[name]["labels"], **LABELS}}
    assert nets["default"]["labels"]["mine"] == "1"
    assert nets[netpolicy.INGRESS]["internal"] is False
    assert nets[netpolicy.INGRESS]["driver_opts"] == netpolicy.PUBLISHING_OPTIONS
    assert nets[netpolicy.INGRESS]["labels"] == LABELS  # the run's sweep finds it
    services = out["services"]
    assert services["web"]["networks"] == {"front": {"aliases": ["www"]}, "default": None}
    assert services["db"]["networks"] == {"default": None}
    assert not any("ports" in service for name, service in services.items() if name != FRONT)
    door = services[FRONT]
    assert set(door["networks"]) == {"default", "front", netpolicy.INGRESS} and door["labels"] == LABELS
    assert front_forwards_of(door) == [Forward("web", 8080, FIRST_PORT)]
    assert door["ports"] == [{"target": FIRST_PORT, "published": "", "host_ip": engine.site().publish_on, "protocol": "tcp",
                              "mode": "ingress"}]
    for name in ("web", "db"):
        assert services[name]["dns"] == netpolicy.NO_EXTERNAL_DNS and "dns_search" not in services[name]
    assert not {"extra_hosts", "external_links"} & set(services["web"])


def test_network_modes_that_leave_the_stack_are_dropped() -> None:
    services = netpolicy.contain_stack(model(), LABELS, front_image=FRONT_IMAGES[0])["services"]
    assert services["host"]["networks"] == {"default": None} and "network_mode" not in services["host"]
    assert services["thief"]["networks"] == {"default": None} and "network_mode" not in services["thief"]
    assert services["sidecar"]["network_mode"] == "service:web" and "networks" not in services["sidecar"]
    assert services["offline"]["network_mode"] == "none" and "dns" not in services["offline"]


def test_a_lab_that_needs_the_internet_gets_ordinary_bridges_and_nothing_else() -> None:
    out = netpolicy.contain_stack(model(), LABELS, internet=True, front_image=FRONT_IMAGES[0])
    assert set(out["networks"]) == {"default", "front", netpolicy.INGRESS}
    assert all(n["internal"] is False and n["driver_opts"] == {} and n["driver"] == "bridge" and not n["enable_ipv6"]
               for name, n in out["networks"].items() if name != netpolicy.INGRESS)
    web = out["services"]["web"]
    assert "dns" not in web and "extra_hosts" not in web and netpolicy.INGRESS not in web["networks"]


def test_the_rewrite_leaves_its_input_alone() -> None:
    before = model()
    netpolicy.contain_stack(before, LABELS, front_image=FRONT_IMAGES[0])
    assert before == model()


def test_the_effective_model_is_contained(tmp_path: Path) -> None:
    """Through compose_model.effective, from a file Compose reads: the implicit default network is contained."""
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\n")
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    out = compose_model.effective(compose_model.load(tmp_path), "lab", "run1", Limits(), front_image=FRONT_IMAGES[0])
    assert out["networks"]["default"]["internal"] is True
    assert out["networks"]["default"]["driver_opts"] == netpolicy.CONTAINED_OPTIONS
    assert out["services"]["web"]["networks"] == {"default": None} and "ports" not in out["services"]["web"]
    assert set(out["services"][FRONT]["networks"]) == {"default", netpolicy.INGRESS}
    assert out["services"]["peer"]["networks"] == {"default": None}
    assert out["networks"][netpolicy.INGRESS]["labels"]["io.mastery.run"] == "run1"


def test_the_front_forwards_every_tcp_port_and_reads_them_back() -> None:
    """One listening port per service port, in a stable order; UDP is not forwarded; the front's command carries
    the forwards, so a Stack built from the file finds them again."""
    services = {"web": {"ports": [{"target": 8080, "protocol": "tcp"}, {"target": 53, "protocol": "udp"}]},
                "api": {"ports": [{"target": 9000}]}, "db": {}}
    forwards = front.stack_forwards(services)
    assert forwards == [Forward("api", 9000, FIRST_PORT), Forward("web", 8080, FIRST_PORT + 1)]
    command = front.command(forwards)
    assert command[:2] == ["python", "-c"] and front.forwards_of({"command": command}) == forwards
    assert Forward.parse("20001=10.0.0.7:8080") == Forward("10.0.0.7", 8080, 20001)

"""Facts about platforms and orchestrators that the lessons state, checked where they can be.

- why-docker.md: a program for another CPU fails with `exec format error` on Linux without QEMU in
  binfmt_misc (engine test).
- production-image.md: `HEALTHCHECK --start-interval` probes more often during `--start-period`, so a container
  turns healthy long before its first `--interval` (engine test).
- kubernetes.md: the Gateway API samples (Gateway API types are CRDs that kubernetes-validate has no schema
  for, hence `.crd.yaml`) have the right API version and kinds, and refer to each other and to the
  samples' Service (no engine).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import docker.errors
import pytest
import yaml

from graders.build import build_image
from graders.spec import REPO_ROOT

K8S_SAMPLES = REPO_ROOT / "course" / "samples" / "kubernetes"
SAMPLE_LABEL = "io.mastery.sample"
GATEWAY_API = "gateway.networking.k8s.io/v1"

# What the lead used on the course engine (Engine 28.5.2): a FROM-scratch image whose only program is an ELF
# header for AArch64 (e_machine 183), run on an x86-64 host.
ELF_HEADER = "b'\\x7fELF'+bytes([2,1,1,0])+bytes(8)+struct.pack('<HHIQQQIHHHHHH',2,183,1,0x400000,64,0,0,64,56,0,64,0,0)"
FOREIGN_CPU_DOCKERFILE = (
    "FROM python:3.13-slim AS forge\n"
    "RUN python -c \"import struct; h=" + ELF_HEADER + "; open('/arm64-prog','wb').write(h)\" && chmod +x /arm64-prog\n"
    "FROM scratch\n"
    "COPY --from=forge /arm64-prog /arm64-prog\n"
    'ENTRYPOINT ["/arm64-prog"]\n'
)

START_INTERVAL_DOCKERFILE = """\
FROM python:3.13-slim
HEALTHCHECK --interval=30s --start-period=20s --start-interval=1s CMD python -c "print(1)"
CMD ["sleep", "120"]
"""


def _build(dockerfile_text: str, tag: str) -> None:
    with tempfile.TemporaryDirectory(prefix="mastery-platform-facts-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(dockerfile_text)
        build_image(context, context / "Dockerfile", tag, {SAMPLE_LABEL: "1"}, timeout_s=300)


def _remove(client: Any, container: Any, tag: str) -> None:
    if container is not None:
        with contextlib.suppress(docker.errors.DockerException):
            container.remove(force=True)
    with contextlib.suppress(docker.errors.DockerException):
        client.images.remove(tag, force=True, noprune=False)


@pytest.mark.engine
def test_a_program_for_another_cpu_fails_with_exec_format_error() -> None:
    from graders.engine import client

    qemu = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if qemu.exists():
        pytest.skip(f"{qemu} exists: QEMU is registered for AArch64 on this host (the course engine runs in a "
                    "container on it), so the kernel would emulate the program instead of refusing it")
    arch = client().info().get("Architecture", "")
    if arch not in ("x86_64", "amd64"):
        pytest.skip(f"the engine runs on {arch or 'an unknown CPU'}; the test runs an AArch64 program on x86-64")
    tag = "mastery-platform-facts/foreign-cpu:test"
    container = None
    try:
        _build(FOREIGN_CPU_DOCKERFILE, tag)
        container = client().containers.create(tag, labels={SAMPLE_LABEL: "1"})
        try:
            container.start()
        except docker.errors.APIError as exc:  # an older runtime reports a failed exec when the container starts
            said = str(exc.explanation or exc)
            assert "exec format error" in said, said
            return
        status = container.wait(timeout=60)
        logs = container.logs().decode(errors="replace")
        # runc prints the failed exec on the container's stderr and exits; `docker run` gave 255 on Engine 28.5.2.
        assert status.get("StatusCode") != 0, (status, logs)
        assert "exec format error" in logs, (status, logs)
        assert "/arm64-prog" in logs, logs
    finally:
        _remove(client(), container, tag)


@pytest.mark.engine
def test_start_interval_makes_a_container_healthy_before_its_first_interval() -> None:
    from graders.engine import client

    tag = "mastery-platform-facts/start-interval:test"
    container = None
    try:
        _build(START_INTERVAL_DOCKERFILE, tag)
        health = client().images.get(tag).attrs["Config"]["Healthcheck"]
        assert health["StartInterval"] == 1_000_000_000, health
        assert health["StartPeriod"] == 20_000_000_000 and health["Interval"] == 30_000_000_000, health
        container = client().containers.create(tag, labels={SAMPLE_LABEL: "1"})
        container.start()
        started, state = time.monotonic(), {}
        while time.monotonic() - started < 15:
            container.reload()
            state = container.attrs["State"]
            if (state.get("Health") or {}).get("Status") == "healthy":
                break
            assert state.get("Running"), state
            time.sleep(0.5)
        took = time.monotonic() - started
        # Without --start-interval the first probe waits for the default start interval (5 s); without a start
        # period, for the whole --interval (30 s). With it, the first probe runs after about a second.
        assert (state.get("Health") or {}).get("Status") == "healthy", f"not healthy after {took:.1f} s: {state}"
    finally:
        _remove(client(), container, tag)


def _documents(name: str) -> list[dict[str, Any]]:
    with (K8S_SAMPLES / name).open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def test_gateway_api_samples_point_at_each_other_and_at_the_service() -> None:
    (gateway,) = _documents("gateway.crd.yaml")
    (route,) = _documents("httproute.crd.yaml")
    assert gateway["apiVersion"] == GATEWAY_API and gateway["kind"] == "Gateway", gateway
    assert route["apiVersion"] == GATEWAY_API and route["kind"] == "HTTPRoute", route
    assert gateway["spec"]["gatewayClassName"], gateway
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    assert all({"protocol", "port"} <= set(listener) for listener in listeners.values()), listeners

    parents = route["spec"]["parentRefs"]
    assert parents, route
    for parent in parents:
        assert parent["name"] == gateway["metadata"]["name"], parent
        assert parent.get("sectionName", next(iter(listeners))) in listeners, parent
        assert parent.get("namespace", gateway["metadata"].get("namespace")) == gateway["metadata"].get("namespace")

    listener_hosts = {listener.get("hostname") for listener in listeners.values()}
    assert set(route["spec"].get("hostnames", [])) <= listener_hosts | {None}, (route["spec"], listener_hosts)

    services = {doc["metadata"]["name"]: doc for path in sorted(K8S_SAMPLES.glob("*.k8s.yaml"))
                for doc in _documents(path.name) if doc.get("kind") == "Service" and doc.get("apiVersion") == "v1"}
    backends = [ref for rule in route["spec"]["rules"] for ref in rule["backendRefs"]]
    assert backends, route
    for ref in backends:
        assert ref.get("kind", "Service") == "Service" and ref.get("group", "") == "", ref
        assert ref["name"] in services, f"{ref['name']} is not a Service in the samples: {sorted(services)}"
        ports = {port["port"] for port in services[ref["name"]]["spec"]["ports"]}
        assert ref["port"] in ports, f"port {ref['port']} is not one of {ref['name']}'s ports {ports}"


@pytest.mark.engine
@pytest.mark.parametrize("image", ["python:3.11-slim", "python:3.13-slim"])
def test_why_docker_shows_what_the_offline_images_print(image: str) -> None:
    """why-docker.md quotes env_fingerprint.py's output on the course's offline images: it must be what they print
    now, not what an earlier build of them printed."""
    from graders.engine import client

    script = (REPO_ROOT / "course" / "samples" / "why-docker" / "env_fingerprint.py").read_text(encoding="utf-8")
    container = client().containers.create(image, ["python", "-c", script], labels={SAMPLE_LABEL: "1"},
                                           network_mode="none")
    try:
        container.start()
        assert container.wait(timeout=60)["StatusCode"] == 0
        printed = container.logs().decode().strip()
    finally:
        container.remove(force=True)
    page = (REPO_ROOT / "course" / "why-docker.md").read_text(encoding="utf-8")
    assert printed in page, f"why-docker.md should show what {image} prints:\n{printed}"

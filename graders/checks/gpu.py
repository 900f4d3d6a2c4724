"""GPU checks, in two layers (see GPU.md): what the learner asked for is checkable anywhere (the
NVIDIA environment in the image, the GPU request in the compose file); whether the container really
sees a GPU needs a host whose engine can hand one over, and is skipped elsewhere, with the reason."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import docker.errors
from docker.types import DeviceRequest

from graders import engine
from graders.context import GradingContext
from graders.labels import run_labels
from graders.results import Category
from graders.spec import Check, Outcome, Phase

NVIDIA_HOME = Path("/usr/local/nvidia")  # where the driver lives on hosts without the container toolkit


@functools.cache
def gpu_mode() -> tuple[str, str]:
    """("toolkit" | "devices" | "", why). "devices": NVIDIA device nodes and a driver folder, no toolkit."""
    try:
        runtimes = engine.client().info().get("Runtimes") or {}
    except docker.errors.DockerException as exc:
        return "", f"the engine did not say which runtimes it has ({exc})"
    if "nvidia" in runtimes:
        return "toolkit", "the engine has the NVIDIA runtime"
    if Path("/dev/nvidia0").exists() and (NVIDIA_HOME / "bin" / "nvidia-smi").exists():
        return "devices", f"NVIDIA device nodes and a driver in {NVIDIA_HOME}, handed to the container directly"
    return "", ("this host's engine cannot hand a GPU to a container (no NVIDIA Container Toolkit and no NVIDIA "
                "devices); the check runs on a host that has one")


def no_gpu_reason() -> str | None:
    mode, why = gpu_mode()
    return None if mode else why


def gpu_run_kwargs() -> dict[str, Any]:
    mode, _ = gpu_mode()
    if mode == "toolkit":
        return {"device_requests": [DeviceRequest(count=-1, capabilities=[["gpu"]])]}
    devices = sorted(str(d) for d in Path("/dev").glob("nvidia*") if d.is_char_device())
    return {"devices": [f"{d}:{d}:rwm" for d in devices],
            "volumes": {str(NVIDIA_HOME): {"bind": str(NVIDIA_HOME), "mode": "ro"}},
            "environment": {"PATH": f"{NVIDIA_HOME}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            "LD_LIBRARY_PATH": f"{NVIDIA_HOME}/lib64:{NVIDIA_HOME}/lib"}}


def _error_text(exc: docker.errors.DockerException) -> str:
    if isinstance(exc, docker.errors.ContainerError):
        return (exc.stderr or b"").decode(errors="replace").strip()[-300:]
    return str(getattr(exc, "explanation", None) or exc)[-300:]


def nvidia_env(points: float, name: str = "nvidia_env") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        env = ctx.image_env
        devices = env.get("NVIDIA_VISIBLE_DEVICES", "")
        caps = env.get("NVIDIA_DRIVER_CAPABILITIES", "")
        problems = []
        if devices in ("", "void", "none"):
            problems.append(f"NVIDIA_VISIBLE_DEVICES is {devices or 'unset'}")
        if not ({"compute", "all"} & set(caps.split(","))):
            problems.append(f"NVIDIA_DRIVER_CAPABILITIES is {caps or 'unset'} (needs compute)")
        if problems:
            return Outcome.failed("; ".join(problems) + ".",
                                  "Build on an nvidia/cuda image (it sets both), or set NVIDIA_VISIBLE_DEVICES=all and "
                                  "NVIDIA_DRIVER_CAPABILITIES=compute,utility with ENV.")
        return Outcome.passed(f"NVIDIA_VISIBLE_DEVICES={devices}, NVIDIA_DRIVER_CAPABILITIES={caps}.")

    return Check(name, "NVIDIA environment set in the image", points, Category.GPU, Phase.BUILD, run)


def compose_requests_gpu(points: float, service: str, compose_file: str = "compose.yaml",
                         name: str = "compose_requests_gpu") -> Check:
    """The service reserves GPUs: deploy.resources.reservations.devices with capabilities [gpu]."""

    def run(ctx: GradingContext) -> Outcome:
        path = ctx.submission / compose_file
        if not path.is_file():
            return Outcome.failed(f"There is no {compose_file} in your folder.", f"Create {compose_file} as the lab asks.")
        try:
            proc = subprocess.run(["docker", "compose", "-f", compose_file, "config", "--format", "json"],
                                  cwd=ctx.submission, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Outcome.error(f"docker compose could not run: {exc}")
        if proc.returncode != 0:
            return Outcome.failed(f"docker compose config rejects {compose_file}: {proc.stderr.strip()[-400:]}",
                                  "Fix what docker compose reports; `docker compose config` shows it too.")
        services = json.loads(proc.stdout).get("services") or {}
        if service not in services:
            return Outcome.failed(f"{compose_file} has no service named {service!r} (it has {', '.join(services)}).",
                                  f"Name the training service {service}.")
        devices = (((services[service].get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get(
            "devices") or []
        if not any("gpu" in (d.get("capabilities") or []) for d in devices):
            return Outcome.failed(f"The {service} service reserves no GPU.",
                                  "Under the service, add deploy: resources: reservations: devices: - driver: nvidia, "
                                  "count: all, capabilities: [gpu].")
        return Outcome.passed(f"The {service} service reserves GPUs: {json.dumps(devices)}.")

    return Check(name, "The compose file requests GPUs", points, Category.GPU, Phase.STATIC, run, tags=("compose",))


def sees_gpu(points: float, expect_output: str, name: str = "sees_gpu") -> Check:
    """On a host that can hand over a GPU: nvidia-smi -L lists one, and the job reports CUDA available."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.build is not None
        client = engine.client()
        env = ctx.image_env
        # Without the toolkit the grader hands devices over itself, and honours the image's request as the
        # toolkit would: NVIDIA_VISIBLE_DEVICES unset, void or none means no GPU.
        wants_gpu = gpu_mode()[0] == "toolkit" or env.get("NVIDIA_VISIBLE_DEVICES", "") not in ("", "void", "none")
        outputs = []
        for command in (["nvidia-smi", "-L"], None):
            try:
                # No network: the probe needs none, and a GPU host may have no bridge (GPU.md).
                raw = client.containers.run(ctx.build.image_id, command, remove=True, network_mode="none",
                                            labels=run_labels(ctx.run_id, ctx.spec.id),
                                            mem_limit=ctx.spec.limits.memory_bytes,
                                            **(gpu_run_kwargs() if wants_gpu else {}))
            except (docker.errors.ContainerError, docker.errors.APIError) as exc:
                return Outcome.failed(f"`{' '.join(command or ['(the image CMD)'])}` failed when given a GPU: "
                                      f"{_error_text(exc)}",
                                      "Check that the image runs on the NVIDIA driver of the host (a CUDA base image).")
            outputs.append(raw.decode(errors="replace"))
        if "GPU 0" not in outputs[0]:
            return Outcome.failed(f"nvidia-smi -L listed no GPU: {outputs[0].strip()[:300]}",
                                  "The container did not receive the GPU.")
        if expect_output not in outputs[1]:
            return Outcome.failed(f"The job ran with a GPU but did not report it: {outputs[1].strip()[-300:]}",
                                  "The script must find libcuda and report CUDA available.")
        return Outcome.passed(f"{outputs[0].strip().splitlines()[0]}; the job says: {expect_output}")

    return Check(name, "The container sees the GPU", points, Category.GPU, Phase.BUILD, run, skip_unless=no_gpu_reason)

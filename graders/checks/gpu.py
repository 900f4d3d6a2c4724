"""GPU checks, in two layers (see GPU.md): what the learner asked for is checkable anywhere (the
NVIDIA environment in the image, the GPU request in the compose file); whether the container really
sees a GPU needs a host whose engine can hand one over, and is skipped elsewhere, with the reason."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import docker.errors
from docker.types import DeviceRequest

from graders import compose_model, engine
from graders.check_model import Check, Need, Outcome
from graders.container import RunResult, run_to_completion, start_container
from graders.context import GradingContext
from graders.errors import ContainerFailed, SubmissionError
from graders.labels import run_labels
from graders.results import Category

NVIDIA_HOME = Path("/usr/local/nvidia")  # where NVIDIA's images look for a driver the host hands over


def driver_home() -> Path:
    """The host's driver folder (bin/nvidia-smi, lib64/libcuda.so.1) for hosts without the toolkit.
    MASTERY_NVIDIA_HOME moves it, for a host that keeps it elsewhere or a rehearsal with a stand-in."""
    return Path(os.environ.get("MASTERY_NVIDIA_HOME") or NVIDIA_HOME)


def device_nodes() -> list[Path]:
    """The host's NVIDIA character devices (/dev/nvidia0, nvidiactl, nvidia-uvm...). MASTERY_NVIDIA_DEVICES
    names another folder to find them in; inside the container they are always under /dev."""
    folder = Path(os.environ.get("MASTERY_NVIDIA_DEVICES") or "/dev")
    return sorted(d for d in folder.glob("nvidia*") if d.is_char_device())


@functools.cache
def gpu_mode() -> tuple[str, str]:
    """("toolkit" | "devices" | "", why). "devices": NVIDIA device nodes and a driver folder, no toolkit."""
    try:
        runtimes = engine.client().info().get("Runtimes") or {}
    except docker.errors.DockerException as exc:
        return "", f"the engine did not say which runtimes it has ({exc})"
    if "nvidia" in runtimes:
        return "toolkit", "the engine has the NVIDIA runtime"
    home = driver_home()
    if any(d.name == "nvidia0" for d in device_nodes()) and (home / "bin" / "nvidia-smi").exists():
        return "devices", f"NVIDIA device nodes and a driver in {home}, handed to the container directly"
    return "", ("this host's engine cannot hand a GPU to a container (no NVIDIA Container Toolkit and no NVIDIA "
                "devices); the check runs on a host that has one")


def asks_for_gpu(image_env: dict[str, str]) -> bool:
    """Whether the image asks the NVIDIA runtime for a GPU: NVIDIA_VISIBLE_DEVICES unset, void or none asks for none."""
    return image_env.get("NVIDIA_VISIBLE_DEVICES", "") not in ("", "void", "none")


def no_gpu_reason() -> str | None:
    mode, why = gpu_mode()
    return None if mode else why


def _with_first(entries: str, first: list[str]) -> str:
    """A search path with `first` in front, unless the image already has them (NVIDIA's images do)."""
    kept = [e for e in entries.split(":") if e]
    return ":".join([f for f in first if f not in kept] + kept)


def gpu_handover(image_env: dict[str, str]) -> dict[str, Any]:
    """start_container's keywords that hand the GPU over: the toolkit's device request, or else the device
    nodes and the driver folder, with the image's own PATH and LD_LIBRARY_PATH kept (its CMD needs them)."""
    mode, _ = gpu_mode()
    if mode == "toolkit":
        return {"device_requests": [DeviceRequest(count=-1, capabilities=[["gpu"]])]}
    path = image_env.get("PATH") or "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return {"devices": [f"{d}:/dev/{d.name}:rwm" for d in device_nodes()],
            "read_only": [(str(driver_home()), str(NVIDIA_HOME))],
            "env": {"PATH": _with_first(path, [f"{NVIDIA_HOME}/bin"]),
                    "LD_LIBRARY_PATH": _with_first(image_env.get("LD_LIBRARY_PATH", ""),
                                                   [f"{NVIDIA_HOME}/lib64", f"{NVIDIA_HOME}/lib"])}}


def run_with_gpu(ctx: GradingContext, command: list[str] | None, handover: dict[str, Any]) -> RunResult:
    """One run of the learner's image under the grader's limits and time, with no network (the job needs
    none, and a GPU host may have no bridge, GPU.md); the container is gone when this returns."""
    assert ctx.build is not None
    limits = ctx.spec.limits
    rc = start_container(ctx.build.image_id, run_labels(ctx.run_id, ctx.spec.id), limits, port=None, health=None,
                         command=command, network="none", **handover)
    try:
        return run_to_completion(rc, limits.run_timeout_s)
    finally:
        rc.stop()


def _start_error(message: str) -> str:
    """The engine's reason a container did not start, without the runtime's layers of prefixes."""
    return message.split("unable to start container process: ")[-1].removesuffix(": unknown")[-300:]


def nvidia_env(points: float, name: str = "nvidia_env") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        env = ctx.image_env
        devices = env.get("NVIDIA_VISIBLE_DEVICES", "")
        caps = env.get("NVIDIA_DRIVER_CAPABILITIES", "")
        problems = []
        if not asks_for_gpu(env):
            problems.append(f"NVIDIA_VISIBLE_DEVICES is {devices or 'unset'}")
        if not ({"compute", "all"} & set(caps.split(","))):
            problems.append(f"NVIDIA_DRIVER_CAPABILITIES is {caps or 'unset'} (needs compute)")
        if problems:
            return Outcome.failed("; ".join(problems) + ".",
                                  "Build on an nvidia/cuda image (it sets both), or set NVIDIA_VISIBLE_DEVICES=all and "
                                  "NVIDIA_DRIVER_CAPABILITIES=compute,utility with ENV.")
        return Outcome.passed(f"NVIDIA_VISIBLE_DEVICES={devices}, NVIDIA_DRIVER_CAPABILITIES={caps}.")

    return Check(name, "NVIDIA environment set in the image", points, Category.GPU, (Need.IMAGE,), run)


def compose_requests_gpu(points: float, service: str, compose_file: str = "compose.yaml",
                         name: str = "compose_requests_gpu") -> Check:
    """The service asks for GPUs, in either form the Compose specification has: the `gpus:` key (`all`, or a
    list of requests) or deploy.resources.reservations.devices with capabilities [gpu]."""

    def run(ctx: GradingContext) -> Outcome:
        try:
            compose = compose_model.load(ctx.build_dir or ctx.submission, compose_file)
        except SubmissionError as exc:
            return Outcome.failed(exc.message, exc.hint)
        services = compose.services
        if service not in services:
            return Outcome.failed(f"{compose_file} has no service named {service!r} (it has {', '.join(services)}).",
                                  f"Name the training service {service}.")
        # Read as written: Compose's model drops `count: 0`, which then reads as a request for every GPU.
        spec = compose.raw_service(service)
        devices = (((spec.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []
        reserved = [d for d in devices if isinstance(d, dict) and "gpu" in (d.get("capabilities") or [])
                    and _asks_for_some(d)]
        gpus = spec.get("gpus")
        requested = [{"count": "all"}] if gpus == "all" else [g for g in gpus or [] if isinstance(g, dict) and _asks_for_some(g)]
        if not reserved and not requested:
            return Outcome.failed(f"{compose.path.name}: the `{service}` service asks for no GPU (neither `gpus:` nor a "
                                  "device reservation with capabilities [gpu], with a count above 0).",
                                  "Under the service, add `gpus: all`, or deploy: resources: reservations: devices: "
                                  "- driver: nvidia, count: all, capabilities: [gpu].")
        return Outcome.passed(f"The {service} service asks for GPUs: {json.dumps(reserved or requested)}.")

    return Check(name, "The compose file requests GPUs", points, Category.GPU, (Need.FILES,), run, tags=("compose",))


def _asks_for_some(request: dict[str, Any]) -> bool:
    """A request for at least one GPU: named devices, or a count that is unset, `all` (-1) or positive."""
    if request.get("device_ids"):
        return True
    count = request.get("count")
    return count is None or str(count) in ("all", "-1") or (str(count).isdigit() and int(count) > 0)


def sees_gpu(points: float, expect_output: str, name: str = "sees_gpu") -> Check:
    """On a host that can hand over a GPU: nvidia-smi -L lists one, and the job reports CUDA available."""

    def run(ctx: GradingContext) -> Outcome:
        env = ctx.image_env
        # Without the toolkit the grader hands devices over itself, and honours the image's request as the
        # toolkit would: NVIDIA_VISIBLE_DEVICES unset, void or none means no GPU.
        wants_gpu = gpu_mode()[0] == "toolkit" or asks_for_gpu(env)
        given = ("when given a GPU" if wants_gpu else
                 f"(the image asks for no GPU: NVIDIA_VISIBLE_DEVICES is {env.get('NVIDIA_VISIBLE_DEVICES') or 'unset'}, "
                 "so none was handed over)")
        outputs = []
        for command in (["nvidia-smi", "-L"], None):
            shown = " ".join(command or ["(the image CMD)"])
            try:
                result = run_with_gpu(ctx, command, gpu_handover(env) if wants_gpu else {})
            except ContainerFailed as exc:
                return Outcome.failed(f"`{shown}` failed {given}: {_start_error(exc.message)}",
                                      "Build on a CUDA base image, which sets the NVIDIA environment and runs on the "
                                      "host's driver." if wants_gpu else "Set NVIDIA_VISIBLE_DEVICES=all (an nvidia/cuda "
                                      "base image does), so that the runtime hands the GPU over.")
            if result.exit_code is None:
                return Outcome.failed(f"`{shown}` was still running after {ctx.spec.limits.run_timeout_s:.0f} s.",
                                      "The job must finish: train for a bounded number of steps.")
            outputs.append(result.output.strip())
        if "GPU 0" not in outputs[0]:
            return Outcome.failed(f"nvidia-smi -L listed no GPU {given}: {outputs[0][:300] or '(no output)'}",
                                  "The container did not receive the GPU.")
        if expect_output not in outputs[1]:
            return Outcome.failed(f"The job ran with a GPU but did not print {expect_output!r}. It printed: "
                                  f"{outputs[1][-300:] or '(nothing: does the image have a CMD that runs the job?)'}",
                                  "The script must find libcuda and report CUDA available.")
        return Outcome.passed(f"{outputs[0].strip().splitlines()[0]}; the job says: {expect_output}")

    return Check(name, "The container sees the GPU", points, Category.GPU, (Need.IMAGE, Need.ENGINE), run, skip_unless=no_gpu_reason)

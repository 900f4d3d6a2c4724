"""Run the gpu-training lab's GPU checks, unchanged, against the probe image on a host with a GPU.

Called by scripts/gpu-host-check.sh once the packed engine is up. It proves both ways that the grader's
"devices" path hands a GPU over: the probe sees it; the same image with NVIDIA_VISIBLE_DEVICES=void does
not; nor (without the toolkit) does the probe given the driver folder but not the device nodes. Exit 0
when all hold, 1 when not, 2 on a host that cannot hand a GPU over.

    python scripts/gpu_host_check.py .gpu-kit/probe.tar.xz
"""

from __future__ import annotations

import contextlib
import lzma
import os
import sys
import time
from pathlib import Path
from unittest import mock

import docker.errors
from docker.types import DeviceRequest

from graders import engine
from graders.build import BuildResult
from graders.checks import gpu
from graders.context import GradingContext
from graders.labels import new_run_id, run_labels
from graders.labs.gpu_training.spec import SPEC
from graders.results import Status

PROBE = "mastery-gpu-probe:kit"


def wait_for_engine() -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            engine.client.cache_clear()
            engine.client()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def judge(image: str, run_id: str) -> dict[str, tuple[Status, str]]:
    """The lab's build-phase GPU checks, run as the grader runs them, on `image`."""
    spec = SPEC
    ctx = GradingContext(spec=spec, submission=Path.cwd(), run_id=run_id)
    attrs = engine.client().api.inspect_image(image)
    ctx.build = BuildResult(image_id=attrs["Id"], tag=image, seconds=0.0, log_tail="", builder="none")
    ctx.image_attrs = attrs
    found = {}
    for name in ("nvidia_env", "sees_gpu"):
        check = spec.check(name)
        reason = check.skip_unless() if check.skip_unless else None
        outcome = check.run(ctx) if reason is None else None
        found[name] = (outcome.status, outcome.message) if outcome else (Status.SKIPPED, reason or "")
    return found


def main(probe_archive: str) -> int:
    wait_for_engine()
    client = engine.client()
    print("engine:", client.version().get("Version"), "| runtimes:", ", ".join(client.info().get("Runtimes") or {}))
    with lzma.open(probe_archive) as archive:
        client.images.load(archive.read())
    print("gpu mode:", *gpu.gpu_mode())
    run_id = new_run_id()
    labels = run_labels(run_id, "gpu-training")
    # The same probe, asking for no GPU the way the toolkit reads it.
    holder = client.containers.create(PROBE, labels=labels)
    void = client.api.commit(holder.id, repository="mastery-gpu-probe", tag="void",
                             changes=["ENV NVIDIA_VISIBLE_DEVICES=void"])["Id"]
    holder.remove()
    ok = True
    cases = [(PROBE, "as it is", Status.PASSED, gpu.device_nodes()),
             (void, "asking for no GPU", Status.FAILED, gpu.device_nodes())]
    if gpu.gpu_mode()[0] == "devices":  # the driver folder alone is not a GPU (GPU.md: NVML fails, exit 255)
        cases.append((PROBE, "given the driver folder but not the device nodes", Status.FAILED, []))
    try:
        for image, how, wants, nodes in cases:
            print(f"\n== the probe {how}: sees_gpu should be {wants.value}")
            with mock.patch.object(gpu, "device_nodes", return_value=nodes):
                found = judge(image, run_id)
            for name, (status, message) in found.items():
                print(f"{name}: {status.value}: {message}")
                ok &= name != "sees_gpu" or status is wants
        # What `--gpus all` records where no toolkit can honour it (GPU.md): the request itself.
        try:
            made = client.containers.create(PROBE, labels=labels,
                                            device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])])
            print("\n--gpus all recorded:", made.attrs["HostConfig"].get("DeviceRequests"))
        except docker.errors.APIError as exc:
            print("\n--gpus all refused at create:", exc.explanation)
    finally:
        engine.sweep(run_id)
        for ref in ("mastery-gpu-probe:void", PROBE):
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(ref, force=True)
    if not gpu.gpu_mode()[0]:
        print("\nRESULT: not verified here:", gpu.gpu_mode()[1])
        return 2
    rehearsal = os.environ.get("MASTERY_NVIDIA_HOME")
    print("\nRESULT:", "the GPU path works both ways" if ok else "the GPU path did NOT behave as expected",
          f"(REHEARSAL with the stand-in driver in {rehearsal}: the plumbing, not a GPU)" if rehearsal else "")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

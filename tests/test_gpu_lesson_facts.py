"""What "Training on a GPU" (course/workflows/gpu-training.md) says about /dev/shm and `docker stop`, checked on
the engine with the lesson's own samples (course/samples/gpu-training/shm_probe.py and checkpointing.py).

The samples run on python:3.13-slim as the page runs them. They are copied into the container before it starts
(put_archive) instead of bind-mounted, so the tests work on an engine on another machine too (the course engine).
No image is built; every container carries the sample label and is removed in a `finally`.
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from container_logs import wait_for_log

from graders.spec import REPO_ROOT

pytestmark = pytest.mark.engine

SAMPLES = REPO_ROOT / "course" / "samples" / "gpu-training"
IMAGE = "python:3.13-slim"
LABELS = {"io.mastery.sample": "1"}
APP = "/app"


def _tar(files: dict[str, bytes]) -> bytes:
    """A tar stream with the folder app/ and the given files in it, for put_archive at /."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(APP.strip("/"))
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        for name, data in files.items():
            member = tarfile.TarInfo(f"{APP.strip('/')}/{name}")
            member.size, member.mode = len(data), 0o644
            tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


@contextlib.contextmanager
def container(command: list[str], samples: tuple[str, ...] = (), **options: Any) -> Iterator[Any]:
    """A created (not started) container of IMAGE with the named samples in /app; removed afterwards."""
    from graders.engine import client

    made = client().containers.create(IMAGE, command, labels=LABELS, mem_limit="1g", **options)
    try:
        if samples:
            assert made.put_archive("/", _tar({name: (SAMPLES / name).read_bytes() for name in samples}))
        yield made
    finally:
        with contextlib.suppress(Exception):
            made.remove(force=True)


def run_to_end(made: Any, timeout: float = 120) -> tuple[int, str]:
    made.start()
    status = made.wait(timeout=timeout)
    return int(status["StatusCode"]), made.logs().decode(errors="replace")


def stop_timed(made: Any, timeout: int) -> tuple[float, int]:
    """`docker stop` with this timeout: how long it took, and the exit code it left."""
    started = time.monotonic()
    made.stop(timeout=timeout)
    took = time.monotonic() - started
    return took, int(made.wait(timeout=30)["StatusCode"])


# --- Shared memory: Docker's default /dev/shm, and what happens past it.


def test_the_default_dev_shm_is_64_mb() -> None:
    """The page shows `df -h /dev/shm` with `shm 64M`; in 1K blocks that is 65536."""
    with container(["sh", "-c", "df -k /dev/shm; df -h /dev/shm"]) as made:
        code, logs = run_to_end(made)
    assert code == 0, logs
    rows = [line.split() for line in logs.splitlines() if line.endswith("/dev/shm")]
    assert len(rows) == 2, logs
    assert rows[0][0] == "shm" and rows[0][1] == "65536", logs
    assert rows[1][1] == "64M", logs


def test_the_probe_dies_of_sigbus_past_the_default_shm() -> None:
    """128 MB into a 64 MB /dev/shm: the first write past the limit faults, and the kernel kills the process
    with SIGBUS even though it is PID 1 (a signal forced by a memory fault is delivered whatever PID 1's
    protection against signals it has no handler for). Docker reports a process killed by signal N as
    128 + N: 135 for SIGBUS (7). The probe's own last line never comes."""
    with container(["python", f"{APP}/shm_probe.py", "128"], ("shm_probe.py",)) as made:
        code, logs = run_to_end(made)
    assert code == 135, f"expected death by SIGBUS (135), got {code}:\n{logs}"
    assert "asking for 128 MB of shared memory in /dev/shm" in logs, logs
    assert "wrote" not in logs, logs


def test_the_probe_succeeds_with_a_larger_shm_size() -> None:
    with container(["python", f"{APP}/shm_probe.py", "128"], ("shm_probe.py",), shm_size="256m") as made:
        code, logs = run_to_end(made)
    assert code == 0, logs
    assert "wrote 128 MB to /dev/shm" in logs, logs


# --- Stopping: a SIGTERM handler saves a checkpoint and exits 0; a PID 1 without one waits for SIGKILL.


def test_checkpointing_saves_and_exits_0_on_docker_stop() -> None:
    with container(["python", f"{APP}/checkpointing.py"], ("checkpointing.py",),
                   environment={"CHECKPOINT_DIR": "/tmp/ckpt"}) as made:
        made.start()
        wait_for_log(made, "epoch 1 done")
        took, code = stop_timed(made, 20)
        logs = made.logs().decode(errors="replace")
        stream, _ = made.get_archive("/tmp/ckpt/checkpoint.json")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile("checkpoint.json")
            assert member is not None
            saved = json.loads(member.read())
    assert code == 0, f"exit code {code} after docker stop:\n{logs}"
    assert "checkpoint saved at epoch" in logs, logs
    assert took < 8, f"docker stop took {took:.1f} s: the handler should end the job within a step (0.2 s)"
    assert saved["epoch"] >= 2 and 1 <= saved["step"] <= 5, saved


def test_pid_1_without_a_handler_waits_for_sigkill() -> None:
    """The contrast the page draws: SIGTERM does not reach a PID 1 that installed no handler for it, so
    `docker stop` waits out its timeout and kills the process: exit code 137 (128 + 9, SIGKILL)."""
    with container(["python", "-c", "import time; print('sleeping', flush=True); time.sleep(600)"]) as made:
        made.start()
        wait_for_log(made, "sleeping")
        took, code = stop_timed(made, 2)
    assert code == 137, f"expected SIGKILL (137), got {code}"
    assert took >= 1.9, f"docker stop returned after {took:.1f} s: the process did not wait for the SIGKILL"

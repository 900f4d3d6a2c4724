"""The GPU hand-over rehearsed on a machine without a GPU. A stand-in driver (scripts/fake-gpu-driver.sh)
answers like NVIDIA's only inside a container that was given the device nodes, so the gpu-training lab
runs here as it would on a GPU host without the toolkit: sees_gpu is run, never skipped, and proven
both ways. It proves the grader's plumbing (device nodes, driver folder, search paths); only a real
GPU host proves the driver (graders/labs/gpu_training/TEST-NOTES.md)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_proofs import solution_scores_full_marks, variant_fails_exactly_its_checks

from graders import engine
from graders.checks import gpu
from graders.doctor import diagnose
from graders.labs import all_labs
from graders.results import Status
from graders.submission import Variant, variants

pytestmark = [pytest.mark.engine, pytest.mark.slow]
SPEC = all_labs()["gpu-training"]
SCRIPT = Path(__file__).parents[1] / "scripts" / "fake-gpu-driver.sh"


@pytest.fixture(scope="module", autouse=True)
def stand_in_driver() -> Iterator[Path]:
    # In the folder the engine sees at the same path (the course engine's shared folder), since the grader
    # hands the engine these device nodes and this driver folder by their paths.
    folder = Path(tempfile.mkdtemp(prefix="mastery-fake-gpu-", dir=engine.scratch_dir()))
    try:
        made = subprocess.run(["bash", str(SCRIPT), str(folder)], capture_output=True, text=True, timeout=600)
        assert made.returncode == 0, made.stderr
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MASTERY_NVIDIA_HOME", str(folder / "nvidia"))
            patch.setenv("MASTERY_NVIDIA_DEVICES", str(folder / "dev"))
            gpu.gpu_mode.cache_clear()
            yield folder
    finally:
        gpu.gpu_mode.cache_clear()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_grader_hands_devices_over() -> None:
    mode, why = gpu.gpu_mode()
    assert mode == "devices", why
    found = next(f for f in diagnose() if f.name == "GPU")  # mastery doctor makes the same decision
    assert found.ok and "device nodes" in found.detail, found


def test_solution_sees_the_gpu(tmp_path: Path, no_leftovers: None) -> None:
    report = solution_scores_full_marks(SPEC, tmp_path)
    seen = next(r for r in report.results if r.name == "sees_gpu")
    assert seen.status is Status.PASSED and "cuda available: True" in seen.message, seen
    assert report.skipped_points == 0


@pytest.mark.parametrize("variant", variants(SPEC), ids=lambda v: v.name)
def test_variant_fails_exactly_its_checks_with_a_gpu(variant: Variant, tmp_path: Path, no_leftovers: None) -> None:
    report = variant_fails_exactly_its_checks(SPEC, variant, tmp_path)
    assert report.skipped_points == 0, [r for r in report.results if r.status is Status.SKIPPED]

"""Lab gpu-training: a training image that asks for a GPU the right way (curriculum Part 4.2, corrected).

Two layers, as observed on a real GPU host (GPU.md): the request (NVIDIA environment, compose GPU
reservation) is checked everywhere; the container seeing a GPU is checked where the engine can hand
one over, and is skipped elsewhere with the reason.
"""

from __future__ import annotations

from pathlib import Path

from graders.checks.build import image_builds
from graders.checks.gpu import compose_requests_gpu, nvidia_env, sees_gpu
from graders.checks.static import base_image_matches, dockerfile_valid
from graders.checks.volume import job_writes_file
from graders.spec import LabSpec, RunMode

SPEC = LabSpec(
    id="gpu-training",
    title="Training on a GPU",
    lesson="workflows/gpu-training.md",
    kind="dockerfile",
    files=("Dockerfile", "compose.yaml", ".dockerignore"),
    base_images=("nvidia/cuda:12.8.1-runtime-ubuntu24.04",),
    folder=Path(__file__).parent,
    port=None,
    run_mode=RunMode.BATCH,
    volume="/models",
    checks=(
        dockerfile_valid(5),
        base_image_matches(5, r"^nvidia/cuda:1[2-9]\.", "nvidia/cuda:12.8.1-runtime-ubuntu24.04"),
        compose_requests_gpu(15, service="train"),
        image_builds(10),
        nvidia_env(15),
        job_writes_file(25, "model.json", keys=("coef", "trained_on")),
        sees_gpu(25, expect_output="cuda available: True"),
    ),
)

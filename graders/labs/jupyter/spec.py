"""Lab jupyter: JupyterLab in a container, as a non-root user, with a run-time token and a mounted
notebook folder (curriculum Part 4.1, corrected)."""

from __future__ import annotations

from pathlib import Path

from graders.checks.auth import accepts_token, no_secret_in_image, requires_token
from graders.checks.build import image_builds
from graders.checks.static import base_image_pinned, dockerfile_valid
from graders.checks.user import runs_as_non_root
from graders.checks.volume import server_writes_to_volume
from graders.spec import LabSpec

SPEC = LabSpec(
    id="jupyter",
    title="Jupyter in a container",
    lesson="workflows/jupyter.md",
    kind="dockerfile",
    files=("Dockerfile", ".dockerignore"),
    base_images=("python:3.13-slim",),
    folder=Path(__file__).parent,
    port=8888,
    run_env=(("JUPYTER_TOKEN", "{secret}"),),
    volume="/notebooks",
    checks=(
        dockerfile_valid(10),
        base_image_pinned(5),
        image_builds(15),
        no_secret_in_image(10),
        runs_as_non_root(15),
        requires_token(15, "/api/contents"),
        accepts_token(15, "/api/contents"),
        server_writes_to_volume(15),
    ),
)

"""Lab secure-runtime: a scoring API run with Docker's defaults taken away (curriculum Part 7)."""

from __future__ import annotations

from pathlib import Path

from graders.checks.compose import compose_valid, stack_builds, stack_healthy
from graders.checks.hardening import (capabilities_dropped, limits_set, no_new_privileges, read_only_root, restart_policy,
                                      secret_as_file, service_non_root)
from graders.checks.static import base_image_pinned
from graders.spec import LabSpec

SPEC = LabSpec(
    id="secure-runtime",
    title="A hardened runtime for a scoring API",
    lesson="security.md",
    kind="compose",
    files=("compose.yaml", "api/Dockerfile"),
    base_images=("python:3.13.5-slim",),
    folder=Path(__file__).parent,
    port=None,
    checks=(
        compose_valid(5),
        base_image_pinned(10, exact=True, dockerfile="api/Dockerfile"),
        stack_builds(5),
        stack_healthy(10, need_health=("api",)),
        service_non_root(10, "api"),
        read_only_root(10, "api"),
        capabilities_dropped(10, "api"),
        no_new_privileges(10, "api"),
        secret_as_file(15, "api", "api_key", port=8000, path="/score", header="X-API-Key"),
        limits_set(10, "api"),
        restart_policy(5, "api"),
    ),
)

"""The last steps of every teardown that built and staged something: keep the run's build cache within its
budget, sweep what carries the run's label or tag, and remove the staged copy of the submission. Each step goes on
whatever the one before it did."""

from __future__ import annotations

import logging

import docker.errors

from graders import disk_budget, engine
from graders.context import GradingContext
from graders.labels import run_labels

log = logging.getLogger("graders")


def sweep_and_unstage(ctx: GradingContext) -> None:
    disk_budget.trim(ctx)  # while the run's images still carry its tags: any over the budget go with their layers
    try:
        engine.sweep(ctx.run_id)  # containers, networks and volumes carry the run label; images the run's tag
    except docker.errors.APIError as exc:
        log.debug("sweep of run %s failed: %s", ctx.run_id, exc)
    if ctx.build_dir is not None:
        engine.remove_host_dir(ctx.build_dir.parent, ctx.spec.base_images[0], run_labels(ctx.run_id, ctx.spec.id))

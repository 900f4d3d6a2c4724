"""Lab swarm: the model API as a Swarm stack: three healthy replicas on an overlay network, a secret and a config
mounted as files, rolling-update and rollback settings and resource limits (curriculum: orchestration; a quarter
of the DCA exam). A swarm-stack lab: the grader deploys the learner's stack file in a single-node swarm of its own
in the course engine, rolls out a second version while a client on the stack's network asks the API all the time,
then rolls out an image that cannot start and watches Swarm roll it back."""

from __future__ import annotations

from pathlib import Path

from graders.checks.build import image_builds
from graders.checks.compose import compose_valid
from graders.checks.swarm import (mounted_file, overlay_network, replicas_healthy, resource_limits, rolling_update,
                                  rolls_back, update_policy)
from graders.limits import Limits
from graders.spec import LabSpec

REPLICAS = 3

SPEC = LabSpec(
    id="swarm",
    title="A Swarm stack that updates without downtime and rolls back by itself",
    lesson="swarm.md",
    kind="swarm-stack",
    files=("stack.yaml", "Dockerfile"),  # and api_token.txt, which the learner makes (the secret's file)
    base_images=("python:3.13-slim",),
    folder=Path(__file__).parent,
    port=8000,
    limits=Limits(run_timeout_s=600.0),  # the deploy and two updates: about a minute each on a busy engine
    checks=(
        compose_valid(5),
        image_builds(5),
        replicas_healthy(15, REPLICAS),
        overlay_network(10),
        mounted_file(10, "secrets", "secret_file"),
        mounted_file(5, "configs", "config_file"),
        update_policy(10, REPLICAS),
        resource_limits(5),
        rolling_update(20),
        rolls_back(15),
    ),
)

"""What a learner's build and container may use: the ceilings every kind of lab runs under."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What a learner's build and container may use. A submission is untrusted code."""

    build_timeout_s: float = 900.0  # a first build of a data-science image downloads hundreds of MB
    # A build with no output line (and so no step finished) for this long is stopped as hanging: a step
    # waiting forever is told within minutes, not after the whole build_timeout_s.
    build_stall_s: float = 120.0
    run_timeout_s: float = 120.0  # the whole runtime phase, from start to teardown
    health_budget_s: float = 60.0  # how long the container may take to become healthy / open its port
    memory_bytes: int = 1024 * 1024 * 1024
    pids: int = 256
    # Processes of a whole build, all its RUN steps together, where the engine can fence them (build_fence.py).
    build_pids: int = 512
    nano_cpus: int = 2_000_000_000
    # The interval the grader runs the learner's HEALTHCHECK with. Not shorter: the engine keeps probing after
    # healthy, and a Python probe (0.15-0.2 s each) every 0.1 s was measured to take half a CPU core.
    health_interval_s: float = 0.5
    compose_health_interval_s: float = 0.5  # the same for a stack's services, which are more at once
    # Once a stack's service is healthy (on Engine 25+, which has `start_interval`), its probe runs this often
    # at most. Measured on the course engine: a Python probe every 0.5 s took 4.3 s of CPU in 20 s (every 1 s,
    # 2.4 s), and ds-stack's solution took 33 s of engine CPU to grade, 24 s with its probes every 2 s.
    compose_settled_interval_s: float = 2.0
    # How long a stack's probe may keep failing after its start period before Compose calls it unhealthy: the
    # learner's own retries × interval, up to this. Probed every 0.5 s, 3 retries gave a slow starter 1.5 s,
    # where its declaration gave it 15 s or more: under load an API not yet listening failed a correct stack.
    compose_unhealthy_after_s: float = 30.0
    # What a run's builds may leave on disk as cache (graders/disk_budget.py). The biggest lab image measured
    # 1.0 GB (ds-stack's mlflow: its 987 MB base and one pip install); the most a lab's own steps add
    # above their base is 0.59 GB (slim-image's bloated original). 3 GiB keeps every lab's layers, and so
    # a second check's speed; an image adding more, or a failed build's step images over it, are removed.
    keep_cache_bytes: int = 3 * 2**30
    # The engine's whole BuildKit cache (every project's, not only grading's) is pruned to this, least
    # recently used first, when a run leaves it bigger: Docker Desktop's own default garbage collection
    # keeps 20 GB, so the grader never cuts below what the engine would keep anyway.
    keep_build_cache_bytes: int = 20 * 2**30
    max_replicas: int = 5  # a stack asking for more is refused; `--scale` by a check stays within it

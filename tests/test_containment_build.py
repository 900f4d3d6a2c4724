"""Containment of builds (issue 10): a RUN step that forks or allocates without end is stopped by the build's
limits where the builder takes any, and what a run's builds leave on disk stays within its budget.

A tiny lab spec with tight limits (64 MiB per build step, 256 MiB of disk) keeps these fast; its images need
no downloads. Every Dockerfile carries a nonce, so no test finds another's layers in the cache, and each
test can tell its own layers from everyone else's on a shared engine. The huge layers are 1 GiB, not
3: the engine copies a layer when it commits it (21.9 s for 3 GiB, 7 s for 1 GiB here), and four
times the budget shows the same thing.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from graders import build_fence, disk_budget, durations, engine
from graders.build import (
    build_image,
    build_limit_flags,
    build_limits,
    compose_build_flags,
    killed_step_hint,
)
from graders.checks.build import image_builds
from graders.checks.compose import compose_valid, stack_builds
from graders.checks.static import dockerfile_valid
from graders.disk_budget import built_step_images, system_df
from graders.labels import image_tag, new_run_id, run_labels
from graders.limits import Limits
from graders.results import GradeReport, Status
from graders.runner import grade
from graders.spec import LabSpec

BASE = "python:3.13-slim"
MiB = 2**20
GiB = 2**30
TINY = LabSpec(
    id="build-containment-probe", title="Build containment", lesson="", kind="dockerfile", files=("Dockerfile",),
    base_images=(BASE,), folder=Path(__file__).parent, port=None, run_mode="batch",
    limits=Limits(build_timeout_s=120, run_timeout_s=30, memory_bytes=64 * MiB, pids=64, keep_cache_bytes=256 * MiB),
    checks=(dockerfile_valid(1), image_builds(1)),
)
STACK = replace(TINY, id="build-containment-stack", kind="compose", files=("compose.yaml",),
                checks=(compose_valid(1), stack_builds(1)))
DONE = 'CMD ["true"]'
# Forks children that sleep until it stops: exit 0 at its own ceiling, 1 when a fork fails (a process
# limit), killed (137) when the memory runs out. Bounded whatever happens: its ceiling, and `timeout`.
BOMB = """\
import os, sys, time
ceiling, children = int(sys.argv[1]), []
try:
    while len(children) < ceiling:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
except OSError as exc:
    print(f"BOMB stopped after {len(children)} forks: {exc!r}", flush=True)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print(f"BOMB forked {len(children)}", flush=True)
sys.exit(0 if len(children) >= ceiling else 1)
"""
HOG = "RUN python3 -c \"x = bytearray(512 * 2**20); print('HOG allocated 512 MiB')\""
BUILDKIT_IGNORES = ("BuildKit takes no memory or process limit per build: Engine 20.10 ignores --memory, "
                    "--cgroup-parent (and so the build fence), --ulimit and --shm-size; Engine 23 and later honour "
                    "--cgroup-parent but count it in the cache keys, so no fence is used (graders/build_fence.py). "
                    "Per build, the time limits are the only wall; the course engine holds all its builds together "
                    "in one pen (tests/test_course_engine.py).")


def nonce() -> str:
    return uuid.uuid4().hex[:12]


def grade_dockerfile(folder: Path, dockerfile: str, spec: LabSpec = TINY) -> GradeReport:
    (folder / "Dockerfile").write_text(dockerfile)
    return grade(spec, folder)


def grade_stack(folder: Path, dockerfile: str) -> GradeReport:
    """A one-service stack built from `dockerfile`, whose container only sleeps."""
    (folder / "app").mkdir()
    (folder / "app" / "Dockerfile").write_text(dockerfile + 'CMD ["sleep", "600"]\n')
    (folder / "compose.yaml").write_text("services:\n  app:\n    build: ./app\n")
    return grade(STACK, folder)


def build_message(report: GradeReport, expected: Status, check: str = "image_builds") -> str:
    result = report.result(check)
    assert result.status is expected, f"{check}: {result.status} {result.message}"
    return result.message


def with_nonce(api: Any, marker: str, at_least: int) -> list[str]:
    """Images (tagged or not) with a layer of at least `at_least` bytes that a step naming `marker` made."""
    found = []
    for image in api.images(all=True):
        for step in api.history(image["Id"]):
            if marker in (step.get("CreatedBy") or "") and int(step.get("Size") or 0) >= at_least:
                found.append(image["Id"])
                break
    return found


def cache_with_nonce(api: Any, marker: str, at_least: int) -> list[dict[str, Any]]:
    """BuildKit cache records of at least `at_least` bytes whose step names `marker`."""
    records = system_df(api).get("BuildCache") or []
    return [r for r in records if marker in (r.get("Description") or "") and int(r.get("Size") or 0) >= at_least]


# --- process and memory limits of the build ---------------------------------------------------------------


def legacy_builder_or_skip() -> None:
    """The legacy builder's walls (limits on each step, step images of a failed build) exist only where the grader
    uses it: an engine older than 23. make test proves them in its pass on the host's engine."""
    if engine.buildkit_by_default():
        pytest.skip(f"Engine {engine.major_version()}.x: the grader builds with BuildKit here, never with the legacy builder")


@pytest.mark.engine
def test_the_builder_is_the_engine_s_default_and_an_older_engine_is_named(tmp_path: Path) -> None:
    """BuildKit on an engine from 23.0 (what the lessons' messages come from); before it the legacy builder, and
    the build's note says why."""
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo {nonce()}\n")
    tag = image_tag(TINY.id, new_run_id())
    try:
        built = build_image(tmp_path, tmp_path / "Dockerfile", tag, {}, timeout_s=120, limits=TINY.limits)
    finally:
        engine.client().images.remove(tag, noprune=True)
    if engine.buildkit_by_default():
        assert (built.builder, built.note) == ("buildkit", "")
    else:
        assert built.builder == "legacy"
        assert built.note == (f"This Docker Engine ({engine.major_version()}.x) predates 23.0, where BuildKit became the default "
                              "builder, so the grader used the legacy one.")


@pytest.mark.engine
def test_legacy_build_steps_run_under_the_limits(tmp_path: Path) -> None:
    """The step container itself says it: the memory limit, no swap beyond it, and the CPU quota (cgroup v1 or v2)."""
    legacy_builder_or_skip()
    marker = nonce()
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BASE}\nRUN echo {marker}; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max "
        "/sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes "
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null; true\n")
    tag = image_tag(TINY.id, new_run_id())
    limits = replace(TINY.limits, nano_cpus=1_500_000_000)
    try:
        built = build_image(tmp_path, tmp_path / "Dockerfile", tag, {}, timeout_s=60, limits=limits, full_log=True)
    finally:
        engine.client().images.remove(tag, noprune=True)
    assert built.builder == "legacy"
    seen = built.log.split()
    assert str(64 * MiB) in seen, built.log  # memory.max or memory.limit_in_bytes (and memsw: no swap)
    assert "150000" in seen, built.log  # cpu.max "150000 100000" or cpu.cfs_quota_us


@pytest.mark.engine
def test_legacy_build_fork_bomb_is_stopped(tmp_path: Path, no_leftovers: None) -> None:
    legacy_builder_or_skip()
    (tmp_path / "bomb.py").write_text(BOMB)
    report = grade_dockerfile(tmp_path, f"FROM {BASE}\nCOPY bomb.py /bomb.py\n"
                                        f"RUN timeout -s KILL 60 python3 /bomb.py 1500 # {nonce()}\n{DONE}\n")
    # 137: killed when the step's 64 MiB ran out (1,500 sleeping Python processes need about 375 MB).
    assert "returned a non-zero code: 137" in build_message(report, Status.FAILED)


def fence_or_skip() -> None:
    if (why := build_fence.unsupported()) is not None:
        pytest.skip(f"no build fence on this engine: {why}")


@pytest.mark.engine
def test_legacy_build_steps_run_inside_the_fence_and_it_goes(tmp_path: Path, no_leftovers: None) -> None:
    """Each step's cgroup (pids and memory hierarchies) is below the fence's, which carries the build's limits."""
    fence_or_skip()
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo {nonce()}; cat /proc/self/cgroup\n{DONE}\n")
    run_id = new_run_id()
    labels = run_labels(run_id, TINY.id)
    limits = replace(TINY.limits, build_pids=48)
    try:
        with build_fence.fenced(labels, limits) as parent:
            assert parent is not None
            fence = engine.client().containers.get(parent.rsplit("/", 1)[-1])
            assert fence.attrs["HostConfig"]["PidsLimit"] == 48 and fence.attrs["HostConfig"]["Memory"] == 64 * MiB
            result = build_image(tmp_path, tmp_path / "Dockerfile", image_tag(TINY.id, run_id), labels, timeout_s=120,
                                 limits=limits, full_log=True, cgroup_parent=parent)
    finally:
        engine.sweep(run_id)
    steps = [line for line in result.log.splitlines() if ":pids:" in line or ":memory:" in line]
    assert len(steps) == 2 and all(f":{parent}/" in line for line in steps), result.log


@pytest.mark.engine
def test_legacy_build_fork_bomb_meets_the_builds_process_limit(tmp_path: Path, no_leftovers: None) -> None:
    """With memory to spare, the fence's process limit is what stops the bomb, and the hint says so."""
    fence_or_skip()
    (tmp_path / "bomb.py").write_text(BOMB)
    spec = replace(TINY, limits=replace(TINY.limits, memory_bytes=1024 * MiB, build_pids=48))
    report = grade_dockerfile(tmp_path, f"FROM {BASE}\nCOPY bomb.py /bomb.py\n"
                                        f"RUN timeout -s KILL 60 python3 /bomb.py 1500 # {nonce()}\n{DONE}\n", spec)
    assert "returned a non-zero code: 1" in build_message(report, Status.FAILED)
    assert "48 processes" in report.result("image_builds").hint


def test_the_fence_is_the_container_s_own_cgroup() -> None:
    assert build_fence.cgroup_of("abc", {"HostConfig": {"CgroupParent": ""}}) == "/docker/abc"
    assert build_fence.cgroup_of("abc", {"HostConfig": {"CgroupParent": "/ci/"}}) == "/ci/abc"


@pytest.mark.engine
def test_legacy_build_memory_hog_is_stopped(tmp_path: Path, no_leftovers: None) -> None:
    legacy_builder_or_skip()
    report = grade_dockerfile(tmp_path, f"FROM {BASE}\n{HOG} # {nonce()}\n{DONE}\n")
    assert "returned a non-zero code: 137" in build_message(report, Status.FAILED)


@pytest.mark.engine
@pytest.mark.xfail(strict=True, raises=AssertionError, reason=BUILDKIT_IGNORES)
def test_buildkit_build_fork_bomb_is_stopped(tmp_path: Path, no_leftovers: None) -> None:
    (tmp_path / "bomb.py").write_text(BOMB)
    report = grade_dockerfile(tmp_path, f"FROM {BASE}\nCOPY bomb.py /bomb.py\nRUN --mount=type=cache,target=/root/.cache "
                                        f"timeout -s KILL 60 python3 /bomb.py 1500 # {nonce()}\n{DONE}\n")
    assert "exit code: 137" in build_message(report, Status.FAILED)


@pytest.mark.engine
@pytest.mark.xfail(strict=True, raises=AssertionError, reason=BUILDKIT_IGNORES)
def test_buildkit_build_memory_hog_is_stopped(tmp_path: Path, no_leftovers: None) -> None:
    hog = HOG.replace("RUN ", "RUN --mount=type=cache,target=/root/.cache ", 1)
    report = grade_dockerfile(tmp_path, f"FROM {BASE}\n{hog} # {nonce()}\n{DONE}\n")
    assert "exit code: 137" in build_message(report, Status.FAILED)


@pytest.mark.engine
def test_stack_build_memory_hog_is_stopped(tmp_path: Path, no_leftovers: None) -> None:
    """A stack's images are built as a Dockerfile lab's are (graders/build.py), with the same limits; the
    killed step's container is removed too (no_leftovers)."""
    legacy_builder_or_skip()
    report = grade_stack(tmp_path, f"FROM {BASE}\n{HOG} # {nonce()}\n")
    message = build_message(report, Status.FAILED, "stack_builds")
    assert "The image of `app` did not build" in message and "137" in message, message
    assert f"{64} MB of memory" in report.result("stack_builds").hint


@pytest.mark.engine
def test_stack_build_fork_bomb_meets_the_builds_process_limit(tmp_path: Path, no_leftovers: None) -> None:
    fence_or_skip()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "bomb.py").write_text(BOMB)
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BASE}\nCOPY bomb.py /bomb.py\n"
                                                 f"RUN timeout -s KILL 60 python3 /bomb.py 1500 # {nonce()}\n{DONE}\n")
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    build: {context: ./app, args: {UNUSED: x}}\n")
    spec = replace(STACK, limits=replace(STACK.limits, memory_bytes=1024 * MiB, build_pids=48))
    report = grade(spec, tmp_path)
    assert "returned a non-zero code: 1" in build_message(report, Status.FAILED, "stack_builds")
    assert "48 processes" in report.result("stack_builds").hint


# --- what a run's builds leave on disk ----------------------------------------------------------------------


@pytest.mark.engine
def test_huge_layer_of_a_built_image_is_removed(tmp_path: Path, no_leftovers: None) -> None:
    legacy_builder_or_skip()
    api = engine.client().api
    marker = nonce()
    report = grade_dockerfile(tmp_path, f"FROM {BASE}\nRUN fallocate -l 1G /big # {marker}\n{DONE}\n")
    assert "legacy builder" in build_message(report, Status.PASSED)
    assert with_nonce(api, marker, GiB) == [], "the run left its 1 GiB layer on disk"


@pytest.mark.engine
def test_failed_build_leaves_no_huge_step_image(tmp_path: Path, no_leftovers: None) -> None:
    """The legacy builder keeps the finished steps of a failed build as untagged images: the 1 GiB one goes."""
    legacy_builder_or_skip()
    api = engine.client().api
    marker = nonce()
    report = grade_dockerfile(tmp_path, f"FROM {BASE}\nRUN fallocate -l 1G /big # {marker}\n"
                                        f"RUN echo giving up && exit 3\n{DONE}\n")
    assert "returned a non-zero code: 3" in build_message(report, Status.FAILED)
    assert with_nonce(api, marker, GiB) == [], "the failed build left its 1 GiB step image on disk"


@pytest.mark.engine
def test_buildkit_huge_layer_leaves_no_image_and_no_cache(tmp_path: Path, no_leftovers: None) -> None:
    api = engine.client().api
    marker = nonce()
    report = grade_dockerfile(tmp_path, f"FROM {BASE}\nRUN --mount=type=cache,target=/root/.cache "
                                        f"fallocate -l 1G /big # {marker}\n{DONE}\n")
    assert "buildkit builder" in build_message(report, Status.PASSED)
    assert with_nonce(api, marker, GiB) == [], "the run left its 1 GiB image on disk"
    left = cache_with_nonce(api, marker, GiB)
    assert left == [], f"the run left its 1 GiB layer in the build cache: {left}"


@pytest.mark.engine
def test_stack_huge_layer_leaves_no_image_and_no_cache(tmp_path: Path, no_leftovers: None) -> None:
    api = engine.client().api
    marker = nonce()
    report = grade_stack(tmp_path, f"FROM {BASE}\nRUN fallocate -l 1G /big # {marker}\n")
    build_message(report, Status.PASSED, "stack_builds")
    assert with_nonce(api, marker, GiB) == [], "the stack's run left its 1 GiB image on disk"
    left = cache_with_nonce(api, marker, GiB)
    assert left == [], f"the stack's run left its 1 GiB layer in the build cache: {left}"


@pytest.mark.engine
@pytest.mark.parametrize("buildkit", [False, True], ids=["legacy", "buildkit"])
def test_normal_build_keeps_its_layers_as_cache(tmp_path: Path, buildkit: bool, no_leftovers: None) -> None:
    """Under the budget nothing is removed: building the same submission again takes its step from the cache."""
    if not buildkit:
        legacy_builder_or_skip()
    marker = nonce()
    mount = "--mount=type=cache,target=/root/.cache " if buildkit else ""
    report = grade_dockerfile(tmp_path, f"FROM {BASE}\nRUN {mount}echo {marker} > /marker && sleep 1\n{DONE}\n")
    build_message(report, Status.PASSED)
    tag = image_tag(TINY.id, new_run_id())
    started = time.monotonic()
    try:
        again = build_image(tmp_path, tmp_path / "Dockerfile", tag, {}, timeout_s=60, buildkit=buildkit,
                            limits=TINY.limits, full_log=True)
    finally:
        engine.client().images.remove(tag, noprune=True)
    lines = again.log.splitlines()
    step = next(i for i, line in enumerate(lines) if marker in line)
    cached = "CACHED" if buildkit else "Using cache"
    assert any(cached in line for line in lines[step:step + 3]), again.log
    assert time.monotonic() - started < 20


# --- the pure parts, without an engine ----------------------------------------------------------------------


def test_limit_flags_per_builder() -> None:
    limits = Limits(memory_bytes=512 * MiB, nano_cpus=1_500_000_000)
    assert build_limit_flags("legacy", limits) == ["--memory", str(512 * MiB), "--memory-swap", str(512 * MiB),
                                                   "--cpu-period", "100000", "--cpu-quota", "150000"]
    assert build_limit_flags("buildkit", limits) == []
    assert build_limit_flags("buildkit", limits, "/docker/f") == ["--cgroup-parent", "/docker/f"]
    assert build_limit_flags("legacy", limits, "/docker/f")[-2:] == ["--cgroup-parent", "/docker/f"]
    assert build_limits(None) == Limits()  # no build runs unlimited
    assert build_limits(limits, 64 * MiB).memory_bytes == 64 * MiB


def test_a_compose_build_section_becomes_docker_build_flags() -> None:
    section = {"context": "/x", "dockerfile": "Dockerfile", "args": {"A": "1", "UNSET": None}, "target": "runtime",
               "no_cache": True, "pull": False, "shm_size": 268435456, "network": "none", "labels": {"k": "v"}}
    assert compose_build_flags(section) == ["--build-arg", "A=1", "--target", "runtime", "--no-cache",
                                            "--shm-size", "268435456", "--network", "none"]
    assert compose_build_flags({"context": "/x"}) == []


def test_killed_step_hint_names_the_limit() -> None:
    summary = "The command '/bin/sh -c pip install torch' returned a non-zero code: 137"
    assert "512 MB of memory" in (killed_step_hint(summary, Limits(memory_bytes=512 * MiB), "legacy") or "")
    assert "ran out of memory" in (killed_step_hint("... did not complete successfully: exit code: 137", Limits(),
                                                    "buildkit") or "")
    assert killed_step_hint("returned a non-zero code: 1", Limits(), "legacy") is None


def test_built_step_images_are_those_the_build_made() -> None:
    log = "\n".join([
        "Step 1/5 : FROM python:3.13-slim",
        " ---> 8f944940dc72",
        "Step 2/5 : COPY requirements.txt .",
        " ---> Using cache",
        " ---> 1111111111aa",
        "Step 3/5 : RUN fallocate -l 3G /big",
        " ---> Running in 5e5e5e5e5e5e",
        "Removing intermediate container 5e5e5e5e5e5e",
        " ---> 2222222222bb",
        "Step 4/5 : RUN exit 3",
        " ---> Running in 6f6f6f6f6f6f",
        "The command '/bin/sh -c exit 3' returned a non-zero code: 3",
    ])
    assert built_step_images(log) == ["2222222222bb"]
    # A tail that starts inside a step tells nothing about that step's image: it is left alone.
    assert built_step_images("\n".join(log.splitlines()[7:])) == []


class FakeCache:
    """An engine's BuildKit cache as prune_builds sees it: a record another builds on is not pruned first."""

    def __init__(self, records: list[dict[str, Any]], parents: dict[str, str]) -> None:
        self.records = {r["ID"]: r for r in records}
        self.parents = parents  # child id -> parent id
        self.calls: list[dict[str, Any]] = []

    def prune_builds(self, filters: dict[str, list[str]] | None = None, keep_storage: int | None = None) -> dict[str, Any]:
        self.calls.append({"filters": filters, "keep_storage": keep_storage})
        if filters is None:
            return {"CachesDeleted": [], "SpaceReclaimed": 0}
        wanted = filters["id"][0]
        if wanted not in self.records or wanted in self.parents.values():
            return {"CachesDeleted": None, "SpaceReclaimed": 0}
        record = self.records.pop(wanted)
        self.parents.pop(wanted, None)
        return {"CachesDeleted": [wanted], "SpaceReclaimed": record["Size"]}


def record(id_: str, size: int, created: str, parent: str = "") -> dict[str, Any]:
    return {"ID": id_, "Size": size, "CreatedAt": created, "InUse": False, "Shared": False, "Parent": parent}


def test_build_cache_is_pruned_to_the_run_budget_then_the_engine_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's huge record goes (after the one built on it), its small one stays; the engine's whole cache,
    still over its own budget, is pruned down to it by the engine (keep-storage)."""
    run_start = "2026-01-01T10:00:00.123456789Z"
    records = [record("huge", GiB, "2026-01-01T10:00:05.5Z"), record("child", 1 * MiB, "2026-01-01T10:00:06Z", parent="huge"),
               record("small", 10 * MiB, "2026-01-01T10:00:07Z"), record("old", 5 * GiB, "2025-12-01T10:00:00Z")]
    cache = FakeCache(records, parents={"child": "huge"})
    monkeypatch.setattr(disk_budget, "_build_cache", lambda api: list(cache.records.values()))
    monkeypatch.setattr(disk_budget, "_engine_clock_ahead", lambda api: 0.0)
    limits = Limits(keep_cache_bytes=256 * MiB, keep_build_cache_bytes=2 * GiB)
    pruned, freed = disk_budget._trim_build_cache(cache, limits, durations.engine_epoch(run_start))
    assert pruned == ["child", "huge"] and freed == GiB + MiB
    assert set(cache.records) == {"small", "old"}
    assert cache.calls[-1] == {"filters": None, "keep_storage": 2 * GiB}  # 5 GiB + 10 MiB left: over 2 GiB
    assert all(call["filters"] != {"id": ["old"]} for call in cache.calls)  # made before the run: never the run's


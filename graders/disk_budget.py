"""What a grading run's builds leave on the engine's disk, kept within a budget (Limits.keep_cache_bytes).

The layers a build leaves are kept on purpose: they are the cache that makes the next check of the same
submission fast, so the teardowns remove a run's images by tag with noprune. A submission can also leave
gigabytes: `RUN fallocate -l 3G /big`, a data set baked in, or a failed build (the legacy builder keeps
every finished step of a failed build as an untagged image; BuildKit keeps them as build cache). `trim`,
called by the teardowns before they untag the run's images, removes what the run made beyond the budget:

- an image tagged for the run that adds more than the budget to its base (the biggest image with a name
  of its own that it builds on), with the untagged step images below it: its layers go;
- the last step image a failed legacy build printed (` ---> 1a2b3c4d5e6f`), likewise;
- the BuildKit cache records made since the run started, biggest first, until they hold no more than the
  budget;
- and the engine's whole BuildKit cache, when over Limits.keep_build_cache_bytes, down to it, least
  recently used first.

Nothing that is not the run's goes: images by the run's tags and its build log, cache records by the time
the run made them. An image that also carries another name (a learner's own tag of the same steps) keeps
it, and the engine never deletes an untagged parent that another image still builds on.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import docker.errors

from graders import engine, engine_locks, runs
from graders.durations import engine_epoch
from graders.errors import BuildFailed
from graders.labels import run_of_tag
from graders.limits import Limits

if TYPE_CHECKING:
    from graders.context import GradingContext

log = logging.getLogger("graders")

# The legacy builder's log: "Step 2/3 : RUN …" starts a step, " ---> 1a2b3c4d5e6f" names the image it ended in.
_STEP = re.compile(r"^Step \d+/\d+ : (\S+)")
_STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
PRUNE_WAIT_S = 30.0  # how long a trim waits for the other gradings on the engine to finish building
LEAF_WAIT_S = 15.0  # how long a stopped build's step container may keep the image it ran on (seen: seconds)
CLOCK_SLACK_S = 2.0  # how much earlier than the run's start a cache record may say it was made (clock steps)

Api = Any  # docker.APIClient (the SDK has no type hints)


@dataclass(frozen=True)
class Trimmed:
    """What trim removed: images (ids), and BuildKit cache records (ids) with the bytes they held."""

    images: tuple[str, ...] = ()
    cache_records: tuple[str, ...] = ()
    cache_bytes: int = 0


def trim(ctx: GradingContext, since: float | None = None) -> Trimmed:
    """Keep what the run's builds leave within the budget; the teardowns' step before they untag its images.

    `since`: when the run started (time.time()); by default when it registered (graders/runs.py). Never
    raises: a failure is logged, the verdict stands, and what stays is left to the engine's own garbage
    collection.
    """
    if ctx.build is None and ctx.build_error is None and not (ctx.stack is not None and ctx.stack.built):
        return Trimmed()  # nothing was built
    try:
        logs = [ctx.build.log_tail if ctx.build is not None else ""]
        if isinstance(ctx.build_error, BuildFailed):
            logs.append(ctx.build_error.log_tail)
        leaves = [made[-1] for made in (built_step_images(text) for text in logs) if made]
        started = since if since is not None else run_started(ctx.run_id)
        trimmed = trim_run(ctx.run_id, ctx.spec.limits, leaves=leaves, since=started, build_cache=used_buildkit(ctx))
    except Exception as exc:  # the teardown goes on whatever happens here
        log.debug("could not keep run %s within its disk budget: %s", ctx.run_id, exc, exc_info=True)
        return Trimmed()
    if trimmed.images or trimmed.cache_records:
        log.info("run %s left more than %d MB of layers: removed %d images and %d MB of build cache", ctx.run_id,
                 ctx.spec.limits.keep_cache_bytes // 2**20, len(trimmed.images), trimmed.cache_bytes // 2**20)
    return trimmed


def used_buildkit(ctx: GradingContext) -> bool:
    """Whether the run may have built with BuildKit (the only builder that leaves build cache records): a
    stack (Compose builds with it), a Dockerfile that needs it, or a check that rebuilds with it. Asking the
    engine costs a `docker system df`, which Engine 20.10 answers in 0.1 to 0.5 s: legacy-only runs skip it."""
    return (ctx.spec.kind == "compose" or (ctx.dockerfile is not None and ctx.dockerfile.needs_buildkit)
            or any("buildkit" in check.tags for check in ctx.spec.checks))


def run_started(run_id: str) -> float | None:
    """When a run registered as in flight (its lock file's time), None when it is not registered."""
    try:
        return (runs.runs_dir() / f"{run_id}{runs.SUFFIX}").stat().st_mtime
    except OSError:
        return None


def built_step_images(log_text: str) -> list[str]:
    """The image ids a legacy build's log shows it made, in order: the ` ---> <id>` that ends a step it ran
    (or a COPY), not one it took from the cache (` ---> Using cache`) nor the FROM image. A log cut in the
    middle of a step gives nothing for that step: what is not known to be the run's is never removed."""
    made: list[str] = []
    origin = "unknown"  # what the next ` ---> <id>` ends: "made", "from", "cache" or "unknown"
    for line in log_text.splitlines():
        line = line.rstrip()
        if step := _STEP.match(line):
            origin = "from" if step.group(1).upper() == "FROM" else "made"
        elif line.strip() == "---> Using cache":
            origin = "cache"
        elif image := _STEP_IMAGE.match(line):
            if origin == "made":
                made.append(image.group(1))
            origin = "unknown"
    return made


def trim_run(run_id: str, limits: Limits, *, leaves: Sequence[str] = (), since: float | None = None,
             build_cache: bool = True) -> Trimmed:
    """Remove the run's images (by its tags, and the untagged `leaves` its failed builds left) that add more
    than limits.keep_cache_bytes to their base, then its BuildKit cache records made since `since` (epoch
    seconds) down to that budget, then the engine's BuildKit cache down to keep_build_cache_bytes (both only
    with `build_cache`)."""
    api = engine.client().api
    budget = limits.keep_cache_bytes
    images: list[dict[str, Any]] = api.images(all=True)  # one call: the size, parent and names of every image
    removed: list[str] = []
    for image in images:
        ours = [tag for tag in _names(image) if run_of_tag(tag) == run_id]
        if not ours or image["Size"] <= budget or added_bytes(api, image, images) <= budget:
            continue
        # Every tag of the run goes; the image (and its layers) only if no other name keeps it.
        if all(_remove(api, tag) for tag in ours) and len(ours) == len(_names(image)):
            removed.append(image["Id"])
    for leaf in leaves:
        found = [image for image in images if image["Id"].removeprefix("sha256:").startswith(leaf)]
        if len(found) == 1 and not _names(found[0]) and found[0]["Size"] > budget \
                and added_bytes(api, found[0], images) > budget and _remove(api, found[0]["Id"], LEAF_WAIT_S):
            removed.append(found[0]["Id"])
    records: list[str] = []
    freed = 0
    if build_cache:
        with engine_locks.exclusive_within(engine_locks.BUILD_CACHE, PRUNE_WAIT_S) as alone:
            if alone:
                records, freed = _trim_build_cache(api, limits, since)
            else:  # another grading is between a build and its rebuild: a later run's trim prunes instead
                log.info("the build cache was not trimmed: other gradings on this engine were building")
    return Trimmed(tuple(removed), tuple(records), freed)


def added_bytes(api: Api, image: dict[str, Any], images: Sequence[dict[str, Any]]) -> int:
    """What an image adds to its base: its size less that of the biggest image with a name of its own (not
    a grading run's) whose layers it starts with. Works for both builders: BuildKit's images name no parent."""
    layers = (api.inspect_image(image["Id"]).get("RootFS") or {}).get("Layers") or []
    bases = sorted((other for other in images if other["Id"] != image["Id"] and other["Size"] <= image["Size"]
                    and any(run_of_tag(tag) is None for tag in _names(other))), key=lambda other: -other["Size"])
    for base in bases:
        base_layers = (api.inspect_image(base["Id"]).get("RootFS") or {}).get("Layers") or []
        if len(base_layers) <= len(layers) and layers[:len(base_layers)] == base_layers:
            return int(image["Size"] - base["Size"])
    return int(image["Size"])


def _names(image: dict[str, Any]) -> list[str]:
    return [tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"]


def _remove(api: Api, ref: str, wait_s: float = 0.0) -> bool:
    """Remove an image (a tag, or an untagged image by id) and the untagged parents only it built on. A
    container still using it gets `wait_s` to go: a cancelled build's step container outlives the CLI."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            api.remove_image(ref, noprune=False)
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError as exc:  # still used by a container, or a parent of another image
            if "being used by" in str(exc) and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            log.debug("could not remove %s: %s", ref, exc)
            return False
        return True


def _trim_build_cache(api: Api, limits: Limits, since: float | None) -> tuple[list[str], int]:
    """Prune the run's BuildKit cache records down to the budget, then the engine's whole BuildKit cache
    when it holds more than its own budget. Returns the records pruned and the bytes freed."""
    records = [r for r in _build_cache(api) if not r.get("Shared")]  # a shared record's bytes are an image's
    pruned: list[str] = []
    freed = 0
    if since is not None:
        start = since + _engine_clock_ahead(api) - CLOCK_SLACK_S
        mine = [r for r in records if not r.get("InUse") and engine_epoch(r.get("CreatedAt") or "") >= start]
        pruned, freed = _prune_records(api, mine, limits.keep_cache_bytes)
    total = sum(int(r.get("Size") or 0) for r in records if r["ID"] not in pruned)
    if total > limits.keep_build_cache_bytes:
        result = api.prune_builds(keep_storage=limits.keep_build_cache_bytes) or {}
        pruned += result.get("CachesDeleted") or []
        freed += int(result.get("SpaceReclaimed") or 0)
    return pruned, freed


def _build_cache(api: Api) -> list[dict[str, Any]]:
    """The engine's BuildKit cache records. `type=build-cache` spares engines from API 1.42 on the sizing of
    every volume and container; older ones ignore it and answer the whole `docker system df`."""
    answer = system_df(api, params={"type": "build-cache"})
    return list(answer.get("BuildCache") or [])


def system_df(api: Api, params: dict[str, str] | None = None, tries: int = 20) -> dict[str, Any]:
    """`docker system df`, waiting its turn: the engine answers only one at a time and refuses the others
    ("a disk usage operation is already running"), which parallel grading runs would hit."""
    for _ in range(tries - 1):
        try:
            return _df(api, params)
        except docker.errors.APIError as exc:
            if "already running" not in str(exc):
                raise
            time.sleep(0.25)
    return _df(api, params)


def _df(api: Api, params: dict[str, str] | None) -> dict[str, Any]:
    answer: dict[str, Any] = api._result(api._get(api._url("/system/df"), params=params or {}), True)
    return answer


def _prune_records(api: Api, records: list[dict[str, Any]], budget: int) -> tuple[list[str], int]:
    """Prune cache records, biggest first, until those left hold no more than `budget`: the huge one goes
    (after the records built on it, which the engine will not orphan), the small ones stay."""
    size = {r["ID"]: int(r.get("Size") or 0) for r in records}
    children: dict[str, list[str]] = {}
    for r in records:
        for parent in r.get("Parents") or ([r["Parent"]] if r.get("Parent") else []):
            children.setdefault(parent, []).append(r["ID"])

    def built_on(record: str) -> list[str]:
        """The record after every record that builds on it, deepest first."""
        return [*(below for child in children.get(record, []) for below in built_on(child)), record]

    held = sum(size.values())
    pruned: list[str] = []
    freed = 0
    for biggest in sorted(size, key=lambda record: -size[record]):
        if held <= budget:
            break
        for record in built_on(biggest):
            if record not in size:
                continue  # pruned already, or not the run's
            result = api.prune_builds(filters={"id": [record]}) or {}
            for deleted in result.get("CachesDeleted") or []:
                pruned.append(deleted)
                held -= size.pop(deleted, 0)
            freed += int(result.get("SpaceReclaimed") or 0)
    return pruned, freed


def _engine_clock_ahead(api: Api) -> float:
    """How far the engine's clock (which dates cache records) is ahead of this machine's: a VM's may differ."""
    engine_now = engine_epoch(api.info().get("SystemTime") or "")
    return engine_now - time.time() if engine_now else 0.0

"""A learner's compose file, read the way Compose reads it, and the stack the grader actually runs.

`docker compose config` does the parsing (so invalid YAML and unknown keys get Compose's own words),
and its normalised model is what checks read. The grader then runs a copy of that model: its own
project name, labels on everything, ports on 127.0.0.1 only, and limits where the learner set none.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from graders import engine, netpolicy
from graders.durations import seconds_or_zero
from graders.errors import SubmissionError
from graders.labels import IMAGE_REPO, run_labels
from graders.limits import Limits

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
CONFIG_TIMEOUT_S = 60
DEFAULT_INTERVAL_S = 30.0  # Docker's, for a healthcheck that declares none
DEFAULT_RETRIES = 3  # likewise


@dataclass
class ComposeModel:
    """The learner's file as written (`raw`) and as Compose understood it (`model`, normalised and
    interpolated, paths made absolute)."""

    path: Path
    raw: dict[str, Any]
    model: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = self.model.get("services") or {}
        return services

    def service(self, name: str) -> dict[str, Any]:
        return self.services.get(name) or {}

    def raw_service(self, name: str) -> dict[str, Any]:
        services = self.raw.get("services") or {}
        found = services.get(name) if isinstance(services, dict) else None
        return found if isinstance(found, dict) else {}


def find_compose_file(folder: Path) -> Path:
    for name in COMPOSE_FILES:
        if (folder / name).is_file():
            return folder / name
    raise SubmissionError(f"There is no compose file in {folder}.",
                          f"Write your stack in {COMPOSE_FILES[0]} in this folder.")


class Refused(SubmissionError):
    """The file asks for something the grader does not run; the message lists every reason."""


def load(folder: Path, file_name: str | None = None) -> ComposeModel:
    """Parse the learner's compose file with Compose itself; a file Compose rejects raises SubmissionError
    with Compose's message (invalid YAML, unknown keys, a missing env file). `folder` is the grader's staged
    copy: before Compose opens anything, every file it would read is judged (Refused)."""
    from graders.compose_policy import MAX_COMPOSE_BYTES, unsafe_reads

    path = folder / file_name if file_name else find_compose_file(folder)
    if not path.is_file() or path.is_symlink():
        raise SubmissionError(f"There is no {path.name} in your folder.", f"Write your stack in {path.name} in this folder.")
    if path.stat().st_size > MAX_COMPOSE_BYTES:
        raise Refused(f"Refused before anything started: {path.name} is larger than {MAX_COMPOSE_BYTES // 1024} KB.",
                      "A lab's stack fits in a few dozen lines.")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SubmissionError(f"{path.name} is not valid YAML: {exc}",
                              "Check the indentation (spaces, not tabs) and the line the message names.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict) or not raw["services"]:
        raise SubmissionError(f"{path.name} defines no services.", "A compose file starts with `services:`, one entry per container.")
    refused = unsafe_reads(raw, folder)
    if refused:
        raise Refused("Refused before anything started: " + "; ".join(refused) + ".", REFUSED_HINT)
    env = compose_env()
    argv = ["docker", "compose", "-f", str(path), "--project-directory", str(folder), "config", "--format", "json"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=CONFIG_TIMEOUT_S, cwd=folder, env=env)
    except subprocess.TimeoutExpired as exc:
        raise SubmissionError(f"`docker compose config` did not finish within {CONFIG_TIMEOUT_S} s.",
                              "Simplify the file: Compose should read it in well under a second.") from exc
    if proc.returncode != 0:
        said = (proc.stderr.strip().removeprefix("validating ").strip() or proc.stdout.strip()).replace(f"{folder}/", "")
        said = said.removeprefix(f"{path.name}: ")
        raise SubmissionError(f"`docker compose config` rejected {path.name}: {said[-600:]}",
                              "Fix what Compose names above; `docker compose config` shows the same message on your machine.")
    warnings = [line.strip() for line in proc.stderr.splitlines() if "level=warning" in line or line.startswith("WARN")]
    model = json.loads(proc.stdout)
    _forget_grader_env(raw, model, env)
    return ComposeModel(path=path, raw=raw, model=model, warnings=warnings)


REFUSED_HINT = "A graded stack runs with no more power than a container needs: remove these options."
STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def compose_env() -> dict[str, str]:
    """The whole environment of every `docker compose` command the grader runs: what Compose needs to find
    the engine and its plugins, stated explicitly, and nothing else of the grader's (no secret of the
    instructor's reaches a `${VAR}`, a variable without a value, or a build argument). An explicit
    DOCKER_HOST also outranks one a learner's `.env` might set."""
    docker = shutil.which("docker")
    path = STANDARD_PATH if docker is None else f"{Path(docker).parent}:{STANDARD_PATH}"
    env = {"PATH": path, "HOME": os.path.expanduser("~"), "LANG": "C.UTF-8",
           "DOCKER_CONFIG": os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")}
    return {**env, **engine.address().env()}


def _variables(service: Any) -> tuple[Any, Any]:
    """A service's `environment` and `build.args`, as written or as resolved (a map, a list, or None)."""
    if not isinstance(service, dict):
        return None, None
    build = service.get("build")
    return service.get("environment"), build.get("args") if isinstance(build, dict) else None


def _forget_grader_env(raw: dict[str, Any], model: dict[str, Any], env: dict[str, str]) -> None:
    """Drop what Compose filled in from the grader's own environment: a variable or build argument written
    without a value gets the value of the same name from the environment Compose ran in (`HOME`, `PATH`)."""
    for name, service in (model.get("services") or {}).items():
        written = _variables((raw.get("services") or {}).get(name))
        for resolved, declared in zip(_variables(service), written, strict=True):
            if not isinstance(resolved, dict):
                continue
            for key in [k for k, v in resolved.items() if k in env and v == env[k] and _without_value(declared, k)]:
                resolved[key] = None


def _without_value(declared: Any, key: str) -> bool:
    if isinstance(declared, dict):
        return key in declared and declared[key] is None
    if isinstance(declared, list):
        return key in [str(item) for item in declared]
    return False


def project_name(lab_id: str, run_id: str) -> str:
    return f"mastery-{lab_id}-{run_id}".lower()


def built_image_tag(lab_id: str, service: str, run_id: str) -> str:
    return f"{IMAGE_REPO}/{lab_id}-{service}:{run_id}".lower()


@dataclass(frozen=True)
class RunFacts:
    """What the transforms of a learner's model into the grader's need to know about the run."""

    lab_id: str
    run_id: str
    limits: Limits
    start_interval: bool = False  # the engine probes at `start_interval` during a start period (Engine 25+)

    @property
    def labels(self) -> dict[str, str]:
        return run_labels(self.run_id, self.lab_id)


def _services(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = model.get("services") or {}
    return services


def _project_named(model: dict[str, Any], run: RunFacts) -> None:
    """A project of the run's own; its networks, volumes, secrets and configs named by it, so every run gets
    fresh ones, and no fixed container name to clash with a second run (the scale check judges that)."""
    model["name"] = project_name(run.lab_id, run.run_id)
    for key in ("networks", "volumes", "secrets", "configs"):
        for item in (model.get(key) or {}).values():
            if isinstance(item, dict):
                item.pop("name", None)
    for service in _services(model).values():
        service.pop("container_name", None)


def _labelled(model: dict[str, Any], run: RunFacts) -> None:
    """The run's labels on every service, network and volume, so a sweep finds whatever is left."""
    for key in ("networks", "volumes"):
        for item in (model.get(key) or {}).values():
            if isinstance(item, dict):
                item["labels"] = {**(item.get("labels") or {}), **run.labels}
    for service in _services(model).values():
        service["labels"] = {**(service.get("labels") or {}), **run.labels}


def _built_by_grader(model: dict[str, Any], run: RunFacts) -> None:
    """A service with `build:` runs the image the grader built (graders/kinds/compose.py); nothing is pulled."""
    for name, service in _services(model).items():
        if "build" in service:
            service["image"] = built_image_tag(run.lab_id, name, run.run_id)
            service["pull_policy"] = "never"
            del service["build"]


def _limited(model: dict[str, Any], run: RunFacts) -> None:
    """Limits where the learner set none, theirs capped at the grader's; replicas at most max_replicas."""
    for service in _services(model).values():
        _cap_limits(service, run.limits)
        _drop_unset(service)
        if service.get("scale"):
            service["scale"] = min(int(service["scale"]), run.limits.max_replicas)
        if (service.get("deploy") or {}).get("replicas"):
            service["deploy"]["replicas"] = min(int(service["deploy"]["replicas"]), run.limits.max_replicas)


def _health_probed_often(model: dict[str, Any], run: RunFacts) -> None:
    """The learner's healthchecks, run more often so `up --wait` does not sit out long intervals."""
    for service in _services(model).values():
        if (service.get("healthcheck") or {}).get("test"):
            service["healthcheck"] = fast_health(service["healthcheck"], run.limits, start_interval=run.start_interval)


# The learner's model becomes the grader's through these, in order; netpolicy.contain_stack then puts it on
# networks of its own, with ports published by the grader's front (graders/front.py).
TRANSFORMS: tuple[Callable[[dict[str, Any], RunFacts], None], ...] = (
    _project_named, _labelled, _built_by_grader, _limited, _health_probed_often)


def effective(compose: ComposeModel, lab_id: str, run_id: str, limits: Limits, *, internet: bool = False,
              front_image: str | None = None, start_interval: bool = False) -> dict[str, Any]:
    """The model the grader runs: the learner's, made findable, contained and unable to clash with
    anything else on the machine. Nothing a check judges is added: limits only where none were set
    (checks read the learner's own model for those). `start_interval`: the engine honours a healthcheck's
    `start_interval` (engine.probes_fast_while_starting)."""
    model = copy.deepcopy(compose.model)
    run = RunFacts(lab_id, run_id, limits, start_interval)
    for transform in TRANSFORMS:
        transform(model, run)
    return netpolicy.contain_stack(model, run.labels, internet=internet, front_image=front_image)


def fast_health(healthcheck: dict[str, Any], limits: Limits, *, start_interval: bool = False) -> dict[str, Any]:
    """The learner's probe, run more often so `up --wait` does not sit out long intervals. Its test and timeout
    stay theirs; a static check judges the declared timing.

    A failing probe is tolerated as long as the learner's own retries × interval would tolerate it (up to
    `compose_unhealthy_after_s`) after their start period: probed more often, the same retries would call a
    slow starter unhealthy sooner than its declaration does. Never fewer retries than declared.

    Where the engine honours `start_interval` (Engine 25+), the probe runs every `compose_health_interval_s`
    only until the service is healthy (during an extended start period, whose failures are uncounted), then
    every `compose_settled_interval_s` at most, the retries making up the rest of the tolerance: a Python
    probe every 0.5 s costs a fifth of a CPU core for as long as the stack runs (limits.py). Elsewhere it
    runs every `compose_health_interval_s` throughout."""
    if healthcheck.get("disable") or healthcheck.get("test") in (["NONE"], "NONE"):
        return healthcheck
    fast = limits.compose_health_interval_s
    retries = int(healthcheck.get("retries") or DEFAULT_RETRIES)
    try:
        declared = seconds_or_zero(str(healthcheck.get("interval") or "")) or DEFAULT_INTERVAL_S
        start_period = seconds_or_zero(str(healthcheck.get("start_period") or ""))
    except ValueError:  # Compose refuses such a file before this runs; nothing to scale by
        declared, start_period = fast, 0.0
    tolerated = min(retries * declared, limits.compose_unhealthy_after_s)
    if not start_interval:
        return {**healthcheck, "interval": _ms(fast), "retries": max(retries, math.ceil(tolerated / fast))}
    settled = max(fast, min(declared, limits.compose_settled_interval_s))
    counted = max(retries, math.ceil(tolerated / 2 / settled))  # at least half the tolerance, in counted failures
    quick = max(tolerated - counted * settled, 0.0)  # the rest: probed every `fast`, failures uncounted
    return {**healthcheck, "start_period": _ms(start_period + quick), "start_interval": _ms(fast),
            "interval": _ms(settled), "retries": counted}


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def image_health(image_attrs: dict[str, Any], limits: Limits, *, start_interval: bool = False) -> dict[str, Any] | None:
    """A compose healthcheck equal to the HEALTHCHECK an image declares, probed more often (fast_health)."""
    declared = (image_attrs.get("Config") or {}).get("Healthcheck") or {}
    if not declared.get("Test") or declared["Test"][0] == "NONE":
        return None
    health: dict[str, Any] = {"test": declared["Test"], "retries": int(declared.get("Retries") or DEFAULT_RETRIES)}
    for key, field_name in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod")):
        if declared.get(field_name):
            health[key] = _ms(declared[field_name] / 1e9)
    return fast_health(health, limits, start_interval=start_interval)


def _cap_limits(service: dict[str, Any], limits: Limits) -> None:
    """A submission is untrusted: its services get the grader's limits, or the learner's where those are
    lower. A learner's higher value (`mem_limit: 64g`, `pids_limit: -1`) never replaces the grader's.
    The checks judge the learner's own declarations, from the learner's model."""
    resources = (service.get("deploy") or {}).get("resources") or {}
    declared = resources.pop("limits", None) or {}
    memory = min(_bytes(v) for v in (service.get("mem_limit"), declared.get("memory"), limits.memory_bytes) if _positive(v))
    pids = min(int(v) for v in (service.get("pids_limit"), declared.get("pids"), limits.pids) if _positive(v))  # type: ignore[arg-type]
    cpus = min(float(v) for v in (service.get("cpus"), declared.get("cpus"), limits.nano_cpus / 1e9)  # type: ignore[arg-type]
               if _positive(v))
    service.update(mem_limit=memory, memswap_limit=memory, pids_limit=pids, cpus=cpus)
    service.pop("mem_reservation", None)
    service["shm_size"] = min(_bytes(service["shm_size"]), memory) if _positive(service.get("shm_size")) else 64 * 2**20
    for mount in service.get("volumes") or []:
        if mount.get("type") == "tmpfs":
            tmpfs = mount.setdefault("tmpfs", {})
            size = tmpfs.get("size")
            tmpfs["size"] = min(_bytes(size), memory) if _positive(size) else memory
    tmpfs_paths = service.get("tmpfs")
    if tmpfs_paths:
        paths = [tmpfs_paths] if isinstance(tmpfs_paths, str) else list(tmpfs_paths)
        service["tmpfs"] = [_sized_tmpfs(str(p), memory) for p in paths]


def _sized_tmpfs(spec: str, memory: int) -> str:
    """A `tmpfs:` entry (`/tmp` or `/tmp:size=64m,mode=1777`) whose size is at most `memory`."""
    path, _, options = spec.partition(":")
    kept = [o for o in options.split(",") if o and not o.startswith("size=")]
    sizes = [_bytes(o.removeprefix("size=")) for o in options.split(",") if o.startswith("size=")]
    size = min([*sizes, memory])
    return f"{path}:{','.join([*kept, f'size={size}'])}"


def _positive(value: Any) -> bool:
    """A value that sets a limit: -1, 0 and nothing mean "none" to Compose."""
    if value is None or isinstance(value, bool):
        return False
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        pass
    try:
        return _bytes(value) > 0
    except ValueError:
        return False


def _drop_unset(service: dict[str, Any]) -> None:
    """A variable or build argument without a value is not set (Compose would fill it in from the grader's
    environment when it runs the grader's file)."""
    for variables in _variables(service):
        if isinstance(variables, dict):
            for key in [k for k, v in variables.items() if v is None]:
                del variables[key]


def declared_memory(service: dict[str, Any]) -> int | None:
    """The memory limit the learner declared (`mem_limit` or `deploy.resources.limits.memory`), in bytes."""
    declared = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    value = service.get("mem_limit") or declared.get("memory")
    return _bytes(value) if value else None


def _bytes(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip().lower().removesuffix("b")
    units = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text))

"""A learner's compose file, read the way Compose reads it, and the stack the grader actually runs.

`docker compose config` does the parsing (so invalid YAML and unknown keys get Compose's own words),
and its normalised model is what checks read. The grader then runs a copy of that model: its own
project name, labels on everything, ports on 127.0.0.1 only, and limits where the learner set none.
"""

from __future__ import annotations

import copy
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from graders.errors import SubmissionError
from graders.labels import IMAGE_REPO, run_labels
from graders.spec import Limits

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
CONFIG_TIMEOUT_S = 60


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


def load(folder: Path) -> ComposeModel:
    """Parse the learner's compose file with Compose itself; a file Compose rejects raises SubmissionError
    with Compose's message (invalid YAML, unknown keys, a missing env file)."""
    path = find_compose_file(folder)
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SubmissionError(f"{path.name} is not valid YAML: {exc}",
                              "Check the indentation (spaces, not tabs) and the line the message names.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict) or not raw["services"]:
        raise SubmissionError(f"{path.name} defines no services.", "A compose file starts with `services:`, one entry per container.")
    argv = ["docker", "compose", "-f", str(path), "--project-directory", str(folder), "config", "--format", "json"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=CONFIG_TIMEOUT_S, cwd=folder,
                              env=_clean_env())
    except subprocess.TimeoutExpired as exc:
        raise SubmissionError(f"`docker compose config` did not finish within {CONFIG_TIMEOUT_S} s.",
                              "Look for an `include:` or `extends:` that points at something unreachable.") from exc
    if proc.returncode != 0:
        said = proc.stderr.strip().removeprefix("validating ").strip() or proc.stdout.strip()
        raise SubmissionError(f"`docker compose config` rejected {path.name}: {said[-600:]}",
                              "Fix what Compose names above; `docker compose config` shows the same message on your machine.")
    warnings = [line.strip() for line in proc.stderr.splitlines() if "level=warning" in line or line.startswith("WARN")]
    return ComposeModel(path=path, raw=raw, model=json.loads(proc.stdout), warnings=warnings)


def _clean_env() -> dict[str, str]:
    """The grader's own environment must not leak into the learner's `${VAR}` interpolation, except what
    Compose needs to find the engine."""
    import os

    keep = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "LANG")
    return {key: os.environ[key] for key in keep if key in os.environ}


def project_name(lab_id: str, run_id: str) -> str:
    return f"mastery-{lab_id}-{run_id}".lower()


def built_image_tag(lab_id: str, service: str, run_id: str) -> str:
    return f"{IMAGE_REPO}/{lab_id}-{service}:{run_id}".lower()


def effective(compose: ComposeModel, lab_id: str, run_id: str, limits: Limits) -> dict[str, Any]:
    """The model the grader runs: the learner's, made findable, contained and unable to clash with
    anything else on the machine. Nothing a check judges is added: limits only where none were set
    (checks read the learner's own model for those)."""
    model = copy.deepcopy(compose.model)
    model["name"] = project_name(lab_id, run_id)
    labels = run_labels(run_id, lab_id)
    for key in ("networks", "volumes", "secrets", "configs"):
        for item in (model.get(key) or {}).values():
            if isinstance(item, dict):
                item.pop("name", None)  # named by the project, so every run gets fresh ones
                if key in ("networks", "volumes"):
                    item["labels"] = {**(item.get("labels") or {}), **labels}
    for name, service in compose.services.items():
        out = model["services"][name]
        out["labels"] = {**(service.get("labels") or {}), **labels}
        out.pop("container_name", None)  # a fixed name would clash with a second run; the scale check judges it
        if "build" in service:
            out["image"] = built_image_tag(lab_id, name, run_id)
            out["pull_policy"] = "build"
        for port in out.get("ports") or []:
            port["host_ip"] = "127.0.0.1"
            port["published"] = ""  # an ephemeral port: the learner's fixed one may be taken on this machine
        _default_limits(out, limits)
        if (out.get("healthcheck") or {}).get("test"):
            out["healthcheck"] = fast_health(out["healthcheck"], limits)
    return model


def fast_health(healthcheck: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """The learner's probe, run more often so `up --wait` does not sit out long intervals. Timeout,
    retries and start period stay theirs; a static check can judge the declared timing."""
    if healthcheck.get("disable") or healthcheck.get("test") in (["NONE"], "NONE"):
        return healthcheck
    return {**healthcheck, "interval": f"{int(limits.compose_health_interval_s * 1000)}ms"}


def image_health(image_attrs: dict[str, Any], limits: Limits) -> dict[str, Any] | None:
    """A compose healthcheck equal to the HEALTHCHECK an image declares, probed more often."""
    declared = (image_attrs.get("Config") or {}).get("Healthcheck") or {}
    if not declared.get("Test") or declared["Test"][0] == "NONE":
        return None
    health: dict[str, Any] = {"test": declared["Test"], "retries": int(declared.get("Retries") or 3)}
    for key, field_name in (("timeout", "Timeout"), ("start_period", "StartPeriod")):
        if declared.get(field_name):
            health[key] = f"{int(declared[field_name] / 1e6)}ms"
    return fast_health(health, limits)


def _default_limits(service: dict[str, Any], limits: Limits) -> None:
    """A submission is untrusted: a service without limits gets the grader's."""
    declared = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    if not service.get("mem_limit") and not declared.get("memory"):
        service["mem_limit"] = limits.memory_bytes
        service["memswap_limit"] = limits.memory_bytes
    if not service.get("pids_limit") and not declared.get("pids"):
        service["pids_limit"] = limits.pids
    if not service.get("cpus") and not declared.get("cpus"):
        service["cpus"] = limits.nano_cpus / 1e9


def declared_memory(service: dict[str, Any]) -> int | None:
    """The memory limit the learner declared (`mem_limit` or `deploy.resources.limits.memory`), in bytes."""
    declared = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    value = service.get("mem_limit") or declared.get("memory")
    return _bytes(value) if value else None


def _bytes(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip().lower().removesuffix("b")
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text))

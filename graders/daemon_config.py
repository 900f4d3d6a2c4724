"""A learner's `daemon.json`: read it as dockerd would, and have the course engine's own dockerd judge it.

The file is never installed anywhere. `read` parses it (dockerd takes plain JSON: no comments, no trailing commas,
and each key once); `engine_verdict` runs `dockerd --validate` of the course engine's image in a throwaway container
on the host's engine: no network, no capabilities beyond what making the remap user `dockremap` needs, and the file
copied in, never mounted from the learner's folder (the engine may be on another machine)."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

from graders.errors import SubmissionError
from graders.tar_stream import tar_bytes

MAX_BYTES = 64 * 1024  # a real daemon.json is under 2 KB
VALIDATE_TIMEOUT_S = 60
# How a systemd host starts dockerd (Debian, Ubuntu, Docker's own packages): a `hosts` key in the file then clashes.
SERVICE_FLAGS = ("-H", "fd://")
_NAME = re.compile(r"[a-z_][a-z0-9_.-]{0,31}|\d{1,10}")  # a user or group name, or a number


@dataclass(frozen=True)
class DaemonConfig:
    """The file as dockerd reads it: its text and its keys."""

    text: str
    settings: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


def read(path: Path) -> DaemonConfig:
    """Parse `path`; a SubmissionError says what dockerd would refuse, and where."""
    if path.is_symlink() or not path.is_file():
        raise SubmissionError(f"There is no `{path.name}` in your folder.",
                              f"Write the engine's settings in `{path.name}`: one JSON object, such as `{{\"live-restore\": true}}`.")
    if path.stat().st_size > MAX_BYTES:
        raise SubmissionError(f"`{path.name}` is larger than {MAX_BYTES // 1024} KB; a daemon.json is a few lines.",
                              "Keep only the settings the task asks for.")
    text = path.read_text(encoding="utf-8", errors="replace")

    def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise SubmissionError(f"`{path.name}` sets `{key}` twice; dockerd would keep only the last one.",
                                      f"Merge the two `{key}` entries into one.")
            seen[key] = value
        return seen

    try:
        settings = json.loads(text, object_pairs_hook=no_repeats)
    except json.JSONDecodeError as exc:
        comment = " JSON has no comments: dockerd refuses `//` and `#` lines." if re.search(r"^\s*(//|#)", text, re.M) else ""
        raise SubmissionError(f"`{path.name}` is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.{comment}",
                              "Check that line: keys and strings in double quotes, commas between entries but not "
                              "after the last one.") from exc
    if not isinstance(settings, dict):
        raise SubmissionError(f"`{path.name}` holds a JSON {type(settings).__name__}, not an object.",
                              "The file is one object: `{ \"key\": value, ... }`.")
    return DaemonConfig(text, settings)


@dataclass(frozen=True)
class EngineVerdict:
    accepted: bool
    said: str  # what dockerd printed, trimmed to its last lines


def _host_client() -> docker.DockerClient:
    from graders.course_engine import control

    return docker.from_env(timeout=VALIDATE_TIMEOUT_S + 30, environment=control.host_address().env())


def validator_missing() -> str | None:
    """Why this machine cannot ask the course engine's dockerd, or None when it can."""
    from graders.course_engine import recipe

    try:
        client = _host_client()
        try:
            client.images.get(recipe.image_ref())
        finally:
            client.close()
    except docker.errors.ImageNotFound:
        return (f"the course engine's image ({recipe.image_ref()}) is not on this machine's Docker Engine, so its "
                "dockerd cannot read your file: run `mastery engine start`, then check again")
    except docker.errors.DockerException as exc:
        return f"no Docker Engine answers on this machine to run the course engine's dockerd ({type(exc).__name__})"
    return None


def _as_validated(config: DaemonConfig) -> str:
    """The text dockerd is given. A `userns-remap` naming a user or group of the learner's machine (or their
    numbers) becomes `default`, which dockerd makes for itself: the validator's container has no such user, the host
    would; the name is judged by the userns_remap check."""
    value = config.get("userns-remap")
    if not isinstance(value, str) or value == "default" or not all(_NAME.fullmatch(p) for p in value.split(":", 1)):
        return config.text
    return json.dumps({**config.settings, "userns-remap": "default"}, indent=2)


def engine_verdict(config: DaemonConfig, labels: dict[str, str]) -> EngineVerdict:
    """dockerd's own reading of the file, as a systemd host would start it (`-H fd://`)."""
    from graders.course_engine import recipe

    client = _host_client()
    container = None
    try:
        container = client.containers.create(
            recipe.image_ref(), entrypoint=["dockerd", "--validate", "--config-file", "/tmp/daemon.json", *SERVICE_FLAGS],
            network_mode="none", labels=labels, mem_limit="256m", pids_limit=64, cap_drop=["ALL"],
            cap_add=["CHOWN", "DAC_OVERRIDE", "FOWNER"], security_opt=["no-new-privileges"])
        # Copied in, not mounted: the engine may be on another machine.
        container.put_archive("/tmp", tar_bytes({"daemon.json": (_as_validated(config).encode(), 0o644)}))
        container.start()
        status = container.wait(timeout=VALIDATE_TIMEOUT_S)
        said = container.logs().decode(errors="replace").strip()
        lines = [line for line in said.splitlines() if "level=info" not in line]
        return EngineVerdict(status.get("StatusCode") == 0 and "configuration OK" in said, "\n".join(lines[-4:]))
    finally:
        if container is not None:
            with contextlib.suppress(docker.errors.DockerException):
                container.remove(force=True, v=True)  # the image declares a VOLUME: its anonymous volume too
        client.close()


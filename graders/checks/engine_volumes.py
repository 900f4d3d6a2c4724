"""Engine-state checks about data that outlives containers: named volumes and what they hold, a database container
on a network of the learner's, a backup tar and its restore, and a clean-up that keeps the volumes.

They read the learner's objects by the names and label the task gives, and change none of them; how a volume is
found and read is graders/learner_volumes.py."""

from __future__ import annotations

import re
import tarfile
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import docker.errors

from graders import engine
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.learner_objects import container_attrs
from graders.learner_volumes import (
    MAX_BYTES,
    Files,
    TooBig,
    Volume,
    file_in_volume,
    listing,
    names_listed,
    network_attrs,
    read_tar,
    safe_bytes,
    strip_top,
    volume_as_asked,
    volume_attrs,
    volume_files,
)
from graders.results import Category

NEEDS = (Need.ENGINE_STATE,)
FILE_NEEDS = (Need.FILES, Need.ENGINE_STATE)
HEALTHY_POLICIES = ("unless-stopped", "always")


def same_files(mine: Files, theirs: Files) -> bool:
    """Whether a tar holds the volume's files: the same paths and contents, the paths relative to the volume
    (`tar -C /data -cf - .`) or under the one folder it was mounted at (`docker cp box:/data - `)."""
    return mine == theirs or (bool(mine) and strip_top(mine) == theirs)


def _differences(mine: Files, theirs: Files, what: str, of: str) -> str:
    """What `what` holds that `of` does not, and the other way round, in one sentence."""
    stripped = strip_top(mine)
    if stripped is not None and not set(mine) & set(theirs):  # a tar of the folder the volume was mounted at
        mine = stripped
    parts = []
    missing = sorted(set(theirs) - set(mine))
    extra = sorted(set(mine) - set(theirs))
    changed = sorted(n for n in set(mine) & set(theirs) if mine[n] != theirs[n])
    if missing:
        parts.append(f"it lacks {names_listed(missing)}")
    if extra:
        parts.append(f"it has {names_listed(extra)}, which {of} has not")
    if changed:
        parts.append(f"{names_listed(changed)} differ(s) in content")
    return f"{what}: " + "; ".join(parts or ["(no difference found)"])


# --- the checks ----------------------------------------------------------------------------------------------------


def volume_holds(points: float, volume: Volume, file: str, starter: str, copy: str,
                 name: str = "dataset_volume") -> Check:
    """The volume exists with the task's label and holds `file`, the same bytes as the lab folder's `starter`."""

    def run(ctx: GradingContext) -> Outcome:
        held = file_in_volume(ctx, volume, file, f"Copy the dataset into it: {copy}.")
        if isinstance(held, Outcome):
            return held
        expected = safe_bytes(ctx.submission, starter)
        if expected is not None and held != expected:
            return Outcome.failed(f"`{file}` in the volume `{volume.name}` differs from `{starter}` in your folder "
                                  f"({len(held)} bytes, not {len(expected)}).",
                                  f"Copy it in again, unchanged: {copy}.")
        return Outcome.passed(f"The volume `{volume.name}` (labelled `{volume.label}`) holds `{file}`, "
                              f"{len(held)} bytes, the same as `{starter}`.")

    return Check(name, f"Volume {volume.name} holds {file}", points, Category.STATE, FILE_NEEDS, run,
                 tags=("volume",))


def _image_differs(attrs: dict[str, Any], image: str) -> bool:
    try:
        expected = engine.client().api.inspect_image(image)["Id"]
    except docker.errors.ImageNotFound:
        return str((attrs.get("Config") or {}).get("Image", "")) != image
    return bool(attrs.get("Image") != expected)


def database_healthy(points: float, container: str, image: str, label: str, network: str, command: str,
                     name: str = "db_healthy") -> Check:
    """The database container runs from `image` with the label, on the user-defined `network` (labelled too),
    with a restart policy and a health check of its own, and the engine reports it healthy."""
    key, _, value = label.partition("=")

    def run(ctx: GradingContext) -> Outcome:
        redo = f"Remove it (`docker rm -f {container}`) and run it again: `{command}`."
        net = network_attrs(network)
        if net is None:
            return Outcome.failed(f"No network named `{network}` in the Docker Engine at {engine.address().url}.",
                                  f"Make it: `docker network create --label {label} {network}`; then remove "
                                  f"`{container}` if it exists (`docker rm -f {container}`) and run `{command}`.")
        if (net.get("Labels") or {}).get(key) != value:
            return Outcome.failed(f"The network `{network}` has no label `{label}`.",
                                  f"Remove the containers on it, then the network (`docker network rm {network}`), and "
                                  f"make it again: `docker network create --label {label} {network}`.")
        attrs = container_attrs(container)
        if attrs is None:
            return Outcome.failed(f"No container named `{container}` in the Docker Engine at {engine.address().url}.",
                                  f"Run it: `{command}`.")
        config, host = attrs.get("Config") or {}, attrs.get("HostConfig") or {}
        wrong = []
        if _image_differs(attrs, image):
            wrong.append(f"it runs the image `{config.get('Image')}`, not `{image}`")
        if (config.get("Labels") or {}).get(key) != value:
            wrong.append(f"it has no label `{label}`")
        networks = sorted((attrs.get("NetworkSettings") or {}).get("Networks") or {})
        if network not in networks:
            wrong.append(f"it is on the network(s) {names_listed(networks) if networks else '(none)'}, not on `{network}` "
                         "(on the default `bridge`, containers cannot find each other by name)")
        policy = (host.get("RestartPolicy") or {}).get("Name") or "no"
        if policy not in HEALTHY_POLICIES:
            wrong.append(f"its restart policy is `{policy}`, not `unless-stopped`")
        test = (config.get("Healthcheck") or {}).get("Test") or []
        if not test or test[0] == "NONE":
            wrong.append("it has no health check (`--health-cmd`)")
        if wrong:
            return Outcome.failed(f"`{container}` exists, but " + "; ".join(wrong) + ".",
                                  "A container's network, restart policy and health check are set when it is made. "
                                  + redo)
        state = attrs.get("State") or {}
        if state.get("Status") != "running":
            return Outcome.failed(f"`{container}` is {state.get('Status', 'stopped')} (exit code {state.get('ExitCode')}).",
                                  f"Read why with `docker logs {container}`, then start it: `docker start {container}`.")
        health = state.get("Health") or {}
        status = health.get("Status", "")
        if status == "starting":
            return Outcome.failed(f"`{container}` runs, but its health check has not passed yet (`starting`).",
                                  f"Wait until `docker ps --filter name={container}` shows `(healthy)`, then check "
                                  "again.")
        if status != "healthy":
            last = (health.get("Log") or [{}])[-1]
            said = str(last.get("Output", "")).strip()[:200] or "nothing"
            return Outcome.failed(f"`{container}` is `{status or 'unknown'}`: its health check `{' '.join(test[1:])}` "
                                  f"last exited {last.get('ExitCode')} and said: {said}",
                                  f"Test the command yourself: `docker exec {container} pg_isready -h 127.0.0.1 -U "
                                  f"postgres`. " + redo)
        return Outcome.passed(f"`{container}` runs from `{image}` on `{network}`, restart policy `{policy}`, and is "
                              f"healthy (`{' '.join(test[1:])}`).")

    return Check(name, f"{container} healthy on {network} with a restart policy", points, Category.HEALTH, NEEDS,
                 run, tags=("container", "network", "health"))


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", text))


def query_saved(points: float, file: str, starter: str, column: int, command: str,
                name: str = "query_saved") -> Check:
    """The file holds what the task's query prints: the number of data rows of the CSV `starter` and the mean of
    its `column` (0-based) to two decimals, as the database computes them once the CSV is loaded."""

    def run(ctx: GradingContext) -> Outcome:
        data = safe_bytes(ctx.submission, starter)
        if data is None:
            return Outcome.failed(f"There is no `{starter}` in your folder to compare `{file}` with.",
                                  f"Restore the lab's dataset to `{starter}` (from the course repository's "
                                  f"`labs/{ctx.spec.id}/`).")
        rows = [line.split(",") for line in data.decode("utf-8", "replace").strip().splitlines()[1:] if line.strip()]
        count = len(rows)
        try:  # as PostgreSQL's round(numeric, 2) does it: exact decimals, halves away from zero
            total = sum((Decimal(r[column].strip()) for r in rows), Decimal(0))
        except (IndexError, InvalidOperation):
            return Outcome.failed(f"`{starter}` in your folder is not the lab's dataset: a row lacks a number.",
                                  f"Restore the lab's `{starter}` (from the course repository's `labs/{ctx.spec.id}/`).")
        mean = str((total / count).quantize(Decimal("0.01"), ROUND_HALF_UP)) if count else "0"
        text = ctx.handed_in.get(file)
        if text is None or not text.strip():
            return Outcome.failed(f"`{file}` is missing or empty in your folder.", f"Run the query and save it: `{command}`.")
        found = _numbers(text)
        if str(count) in found and mean in found:
            return Outcome.passed(f"`{file}` shows {count} rows with a mean of {mean}, as the loaded `{starter}` gives.")
        shown = " ".join(text.strip().splitlines()[-3:])[:200]
        return Outcome.failed(f"`{file}` holds `{shown}`, not the {count} rows and the mean {mean} that `{starter}` "
                              "gives once it is loaded.",
                              "Load the CSV into the table first (the `\\copy` step), check with `docker exec` that "
                              f"the table has {count} rows, then save the query again: `{command}`.")

    return Check(name, f"{file} holds the query's answer", points, Category.STATE, FILE_NEEDS, run,
                 tags=("exec", "files"))


def backup_matches(points: float, tar: str, volume: Volume, command: str, name: str = "backup_saved") -> Check:
    """The tar in the lab folder holds exactly the volume's files (paths and contents)."""

    def run(ctx: GradingContext) -> Outcome:
        data = safe_bytes(ctx.submission, tar)
        if not data:
            return Outcome.failed(f"`{tar}` is missing or empty in your folder.", f"Back the volume up: `{command}`.")
        try:
            if len(data) > MAX_BYTES:
                raise TooBig(tar)
            saved = read_tar(data)
        except (tarfile.TarError, TooBig, EOFError, OSError) as exc:
            return Outcome.failed(f"`{tar}` is not a tar archive of the lab's data ({type(exc).__name__}).",
                                  f"Make it again, with tar writing to standard output: `{command}`.")
        if volume_attrs(volume.name) is None:
            return Outcome.failed(f"`{tar}` holds {listing(saved)}, but there is no volume `{volume.name}` to "
                                  "compare it with.", f"Make the volume (`{volume.command}`), fill it, then `{command}`.")
        files = volume_files(ctx, volume.name)
        if isinstance(files, Outcome):
            return files
        if same_files(saved, files):
            return Outcome.passed(f"`{tar}` holds the {len(files)} file(s) of `{volume.name}`, byte for byte.")
        return Outcome.failed(_differences(saved, files, f"`{tar}` does not match the volume `{volume.name}`",
                                           f"`{volume.name}`") + ".",
                              f"Back it up again, after the data is in the volume: `{command}`.")

    return Check(name, f"{tar} holds the files of {volume.name}", points, Category.STATE, FILE_NEEDS, run,
                 tags=("volume", "backup", "files"))


def restored_matches(points: float, restored: Volume, source: Volume, command: str,
                     name: str = "restored_volume") -> Check:
    """The restored volume exists with the task's label and holds exactly the source volume's files."""

    def run(ctx: GradingContext) -> Outcome:
        attrs = volume_as_asked(restored)
        if isinstance(attrs, Outcome):
            return attrs
        if volume_attrs(source.name) is None:
            return Outcome.failed(f"There is a volume `{restored.name}`, but no `{source.name}` to compare it with.",
                                  f"Make `{source.name}` (`{source.command}`) and fill it as the task says.")
        mine, theirs = volume_files(ctx, restored.name), volume_files(ctx, source.name)
        if isinstance(mine, Outcome):
            return mine
        if isinstance(theirs, Outcome):
            return theirs
        if mine == theirs and mine:
            return Outcome.passed(f"`{restored.name}` holds the same {len(mine)} file(s) as `{source.name}`.")
        return Outcome.failed(_differences(mine, theirs, f"The volume `{restored.name}` does not match `{source.name}`",
                                           f"`{source.name}`") + ".",
                              f"Extract the backup into the new volume, at its top: `{command}`.")

    return Check(name, f"{restored.name} holds the files of {source.name}", points, Category.STATE, NEEDS, run,
                 tags=("volume", "backup"))


def cleaned_up(points: float, label: str, keep: tuple[str, ...], name: str = "cleaned_up") -> Check:
    """No dangling image and no stopped container carries the lab's label, and the named volumes `keep` are there:
    the clean-up pruned what is no longer needed and kept the data."""

    def run(ctx: GradingContext) -> Outcome:
        api = engine.client().api
        dangling = api.images(filters={"dangling": True, "label": label})
        stopped = api.containers(all=True, filters={"label": label, "status": ["created", "exited", "dead"]})
        gone = [v for v in keep if volume_attrs(v) is None]
        found = []
        if dangling:
            found.append(f"{len(dangling)} dangling image(s) (`<none>:<none>`) carry the label `{label}`")
        if stopped:
            names = [str((c.get("Names") or ["?"])[0]).lstrip("/") for c in stopped]
            found.append(f"the stopped container(s) {names_listed(names)} carry the label `{label}`")
        if gone:
            found.append(f"the named volume(s) {names_listed(gone)} are gone: a clean-up must keep the data")
        if not found:
            return Outcome.passed(f"No dangling image or stopped container carries `{label}`, and "
                                  f"{names_listed(list(keep))} are kept.")
        hints = []
        if stopped:
            hints.append(f"Remove the lab's stopped containers: `docker container prune -f --filter label={label}`.")
        if dangling:
            hints.append(f"Remove the lab's dangling images: `docker image prune -f --filter label={label}`.")
        if gone:
            hints.append("Make the missing volume(s) again and fill them as the task says; prune by the lab's label, "
                         "never with `docker volume prune` or `docker system prune --volumes`, which take data with them.")
        return Outcome.failed("; ".join(found)[0].upper() + "; ".join(found)[1:] + ".", " ".join(hints))

    return Check(name, "Dangling images and stopped containers pruned, volumes kept", points, Category.STATE, NEEDS,
                 run, tags=("cleanup", "volume"))

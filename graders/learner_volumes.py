"""The learner's named volumes, read without touching them: a volume the task asks for, as the task words it;
whether it exists with the task's label; and the files it holds.

To see what a volume holds, the grader makes one object of its own: a container that is created, never started,
with the volume mounted read-only, no network and the grader's run labels; it copies the volume's files out of it
(as `docker cp` does) and removes it at once. Shared by the check families that grade data in volumes."""

from __future__ import annotations

import io
import re
import tarfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from graders import engine
from graders.check_model import Outcome
from graders.context import GradingContext
from graders.labels import run_labels
from graders.learner_objects import LearnerObjects

HELPER_IMAGE = "python:3.13-slim"  # a base image of the lab, already in the engine: the helper is never started
MOUNT = "/volume"
MAX_BYTES = 16 * 1024 * 1024  # a lab's dataset is a few kB: read no more than this of a volume or a tar

Files = dict[str, bytes]  # path inside the volume (or the tar) -> contents


@dataclass(frozen=True)
class Volume:
    """A named volume the task asks for, as the task words it."""

    name: str
    label: str  # key=value
    command: str  # what makes it: quoted when it is missing or must be made again
    fill: str = ""  # what puts the task's data into it once made, as the hint words it (commands in backticks)


class TooBig(Exception):
    """More than MAX_BYTES: not the lab's data."""


def read_tar(data: bytes) -> Files:
    """The regular files of a tar (plain or compressed), by their path without a leading `./` or `/`."""
    files: Files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive:
            if not member.isfile():
                continue
            name = re.sub(r"^(?:\./|/)+", "", member.name)
            handle = archive.extractfile(member)
            if handle is not None and name:
                files[name] = handle.read()
    return files


def strip_top(files: Files) -> Files | None:
    """The files without the one folder they all sit in (`data/x.csv` -> `x.csv`), or None when there is none."""
    tops = {name.partition("/")[0] for name in files}
    if len(tops) != 1 or any("/" not in name for name in files):
        return None
    return {name.partition("/")[2]: content for name, content in files.items()}


def names_listed(names: list[str]) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def listing(files: Files) -> str:
    return names_listed(sorted(files)) if files else "nothing"


# --- the read-only look at the learner's engine --------------------------------------------------------------------

_views: weakref.WeakKeyDictionary[LearnerObjects, dict[str, Files]] = weakref.WeakKeyDictionary()
_views_lock = threading.Lock()


def _view(ctx: GradingContext) -> LearnerObjects:
    assert ctx.learner is not None, "engine-state checks run only once the kind opened its view"
    return ctx.learner


def volume_attrs(name: str) -> dict[str, Any] | None:
    try:
        attrs: dict[str, Any] = engine.client().api.inspect_volume(name)
    except docker.errors.NotFound:
        return None
    return attrs


def network_attrs(name: str) -> dict[str, Any] | None:
    try:
        attrs: dict[str, Any] = engine.client().api.inspect_network(name)
    except docker.errors.NotFound:
        return None
    return attrs if attrs.get("Name") == name else None  # the engine also resolves an id prefix


def read_volume(ctx: GradingContext, name: str) -> Files:
    """The files in the learner's volume `name` (which exists): copied out of a helper container that mounts it
    read-only and is never started, then removed. One read per volume per grading run."""
    view = _view(ctx)
    with _views_lock:
        seen = _views.setdefault(view, {})
        if name in seen:
            return seen[name]
    api = engine.client().api
    helper = api.create_container(
        HELPER_IMAGE, command=["true"], labels=run_labels(ctx.run_id, ctx.spec.id), network_disabled=True,
        host_config=api.create_host_config(binds={name: {"bind": MOUNT, "mode": "ro"}}, network_mode="none",
                                           read_only=True, mem_limit="64m", pids_limit=16))
    try:
        stream, _ = api.get_archive(helper["Id"], MOUNT)
        data = bytearray()
        for chunk in stream:
            data += chunk
            if len(data) > MAX_BYTES:
                raise TooBig(name)
    finally:
        api.remove_container(helper["Id"], force=True)
    files = strip_top(read_tar(bytes(data))) or {}
    with _views_lock:
        return seen.setdefault(name, files)


def volume_files(ctx: GradingContext, name: str) -> Files | Outcome:
    """The files in the volume, or what to tell the learner when it holds more than a lab's data can be."""
    try:
        return read_volume(ctx, name)
    except TooBig:
        return Outcome.failed(f"The volume `{name}` holds more than {MAX_BYTES // (1024 * 1024)} MB, which the "
                              "grader does not read: the lab's data is a few kilobytes.",
                              f"See what is in it (`docker run --rm -v {name}:/v:ro python:3.13-slim du -ah /v`), "
                              f"then remove it (`docker volume rm {name}`) and make it again as the task says.")


def file_in_volume(ctx: GradingContext, volume: Volume, file: str, hint: str) -> bytes | Outcome:
    """The bytes of `file` in the task's volume, or what to tell the learner: the volume is missing or not as
    asked, too big to read, or does not hold the file (`hint` says how to put it there)."""
    attrs = volume_as_asked(volume)
    if isinstance(attrs, Outcome):
        return attrs
    files = volume_files(ctx, volume.name)
    if isinstance(files, Outcome):
        return files
    if file not in files:
        return Outcome.failed(f"The volume `{volume.name}` holds {listing(files)}, not `{file}`.", hint)
    return files[file]


def volume_as_asked(volume: Volume) -> dict[str, Any] | Outcome:
    attrs = volume_attrs(volume.name)
    if attrs is None:
        then = f", then {volume.fill}" if volume.fill else ""
        return Outcome.failed(f"No volume named `{volume.name}` in the Docker Engine at {engine.address().url}.",
                              f"Make it: `{volume.command}`{then}. `docker volume ls --filter label={volume.label}` "
                              "lists the lab's volumes.")
    key, _, value = volume.label.partition("=")
    labels = attrs.get("Labels") or {}
    if labels.get(key) != value:
        shown = f"the label `{key}={labels[key]}`" if key in labels else f"no label `{key}`"
        return Outcome.failed(f"The volume `{volume.name}` has {shown} (the task's is `{volume.label}`).",
                              f"A volume's labels are fixed when it is made. Remove the containers that use it, then "
                              f"the volume (`docker volume rm {volume.name}`), and make it again: `{volume.command}`.")
    return attrs


def safe_bytes(folder: Path, name: str) -> bytes | None:
    """The bytes of a file in the learner's folder (a link only to a file inside it), or None."""
    try:
        resolved = (folder / name).resolve()
        if not resolved.is_file() or not resolved.is_relative_to(folder.resolve()):
            return None
        with resolved.open("rb") as handle:
            return handle.read(MAX_BYTES + 1)
    except OSError:
        return None

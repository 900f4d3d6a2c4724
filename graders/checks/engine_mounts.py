"""Engine-state checks about where a container's data goes: the mounts of the learner's container (named volumes
read-only or writable, a tmpfs with a size limit, a read-only root filesystem), a file a job left in a volume, a
volume's driver options, and what the engine says about its own storage.

Like every engine-state check they only read: inspect data, the engine's info, and a volume's files copied out of
the grader's helper container (graders/learner_volumes.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders import engine
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.learner_containers import Wanted, as_asked
from graders.learner_volumes import Volume, file_in_volume, volume_as_asked, volume_attrs
from graders.results import Category

NEEDS = (Need.ENGINE_STATE,)
FILE_NEEDS = (Need.FILES, Need.ENGINE_STATE)
MB = 1024 * 1024
_UNITS = {"": 1, "k": 1024, "m": MB, "g": 1024 * MB}

# Judges a file's bytes against the learner's folder: None when it is right, else what is wrong (said to the learner).
FileJudge = Callable[[bytes, Path], str | None]


@dataclass(frozen=True)
class VolumeMount:
    """A named volume the task mounts into a container, at `target`, read-only or not."""

    volume: str
    target: str
    read_only: bool


@dataclass(frozen=True)
class TmpfsMount:
    """A tmpfs the task mounts at `target`, no bigger than `max_bytes`."""

    target: str
    max_bytes: int


def size_bytes(text: str) -> int | None:
    """A tmpfs `size=` value in bytes (`64m`, `65536k`, `67108864`), or None for a share of memory (`50%`) or a
    value the kernel would not read."""
    found = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)\s*", text)
    if found is None:
        return None
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


def _size_option(options: str) -> str | None:
    """The `size=` part of mount options written as `size=64m,mode=1777`, or None when there is none."""
    for part in options.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "size":
            return value.strip()
    return None


def _tmpfs_size(attrs: dict[str, Any], target: str) -> tuple[bool, int | None, str]:
    """Whether a tmpfs is mounted at `target`, its size limit in bytes (None: no limit or not in bytes), and how the
    limit was written. `--tmpfs` keeps its options as text; `--mount type=tmpfs` keeps `SizeBytes`."""
    host = attrs.get("HostConfig") or {}
    tmpfs = host.get("Tmpfs") or {}
    if target in tmpfs:
        written = _size_option(str(tmpfs[target] or ""))
        return True, size_bytes(written) if written else None, written or ""
    for mount in host.get("Mounts") or []:
        if mount.get("Type") == "tmpfs" and mount.get("Target") == target:
            size = int((mount.get("TmpfsOptions") or {}).get("SizeBytes") or 0)
            return True, size or None, f"{size} bytes" if size else ""
    return False, None, ""


def _root_mount_problems(attrs: dict[str, Any], mounts: tuple[VolumeMount, ...]) -> list[str]:
    found = []
    by_target = {str(m.get("Destination")): m for m in attrs.get("Mounts") or []}
    for wanted in mounts:
        mount = by_target.get(wanted.target)
        if mount is None:
            found.append(f"nothing is mounted at `{wanted.target}` (the task mounts the volume `{wanted.volume}` "
                         "there)")
        elif mount.get("Type") != "volume" or mount.get("Name") != wanted.volume:
            what = f"the volume `{mount.get('Name')}`" if mount.get("Type") == "volume" else \
                f"a {mount.get('Type')} mount of `{mount.get('Source')}`"
            found.append(f"`{wanted.target}` is {what}, not the volume `{wanted.volume}`")
        elif wanted.read_only and mount.get("RW"):
            found.append(f"the volume `{wanted.volume}` is writable at `{wanted.target}`; the task mounts it "
                         "read-only")
        elif not wanted.read_only and not mount.get("RW"):
            found.append(f"the volume `{wanted.volume}` is read-only at `{wanted.target}`, where the job must write")
    return found


def mounts_as_asked(points: float, wanted: Wanted, volumes: tuple[VolumeMount, ...], tmpfs: TmpfsMount,
                    read_only_root: bool = True, name: str = "job_mounts") -> Check:
    """The container mounts each volume where and how the task says, a tmpfs with a size limit, and (when asked) a
    read-only root filesystem: every place it may write is one the task chose."""

    def run(ctx: GradingContext) -> Outcome:
        attrs = as_asked(ctx, wanted)
        if isinstance(attrs, Outcome):
            return attrs
        found = _root_mount_problems(attrs, volumes)
        mounted, size, written = _tmpfs_size(attrs, tmpfs.target)
        limit = f"{tmpfs.max_bytes // MB} MB"
        if not mounted:
            found.append(f"no tmpfs is mounted at `{tmpfs.target}`")
        elif size is None:
            found.append(f"the tmpfs at `{tmpfs.target}` has " + (f"the size `{written}`, a share of memory, not a "
                                                                   "size" if written else "no size limit")
                         + f" (the task's limit is {limit})")
        elif size > tmpfs.max_bytes:
            found.append(f"the tmpfs at `{tmpfs.target}` may grow to {size / MB:g} MB, more than {limit}")
        if read_only_root and not (attrs.get("HostConfig") or {}).get("ReadonlyRootfs"):
            found.append("its root filesystem is writable (no `--read-only`)")
        if found:
            return Outcome.failed(f"`{wanted.name}` exists, but " + "; ".join(found) + ".",
                                  "Mounts are fixed when a container is made: remove it "
                                  f"(`docker rm -f {wanted.name}`) and run it again: `{wanted.command}`.")
        shown = ", ".join(f"`{m.volume}` at `{m.target}`" + (" read-only" if m.read_only else "") for m in volumes)
        root = "a read-only root filesystem, " if read_only_root else ""
        return Outcome.passed(f"`{wanted.name}` has {root}{shown}, and a tmpfs at `{tmpfs.target}` of at most "
                              f"{(size or 0) / MB:g} MB.")

    return Check(name, f"{wanted.name} writes only where the task says", points, Category.STATE, NEEDS, run,
                 tags=("container", "volume", "tmpfs"))


def volume_file_judged(points: float, volume: Volume, file: str, judge: FileJudge, hint: str,
                       name: str = "result_saved") -> Check:
    """The volume holds `file`, and `judge` finds it right (against the learner's folder, e.g. the lab's data)."""

    def run(ctx: GradingContext) -> Outcome:
        held = file_in_volume(ctx, volume, file, hint)
        if isinstance(held, Outcome):
            return held
        problem = judge(held, ctx.submission)
        if problem:
            return Outcome.failed(f"`{file}` in the volume `{volume.name}`: {problem}.", hint)
        return Outcome.passed(f"The volume `{volume.name}` holds `{file}` ({len(held)} bytes), as the lab's "
                              "data gives it.")

    return Check(name, f"Volume {volume.name} holds the right {file}", points, Category.STATE, FILE_NEEDS, run,
                 tags=("volume",))


def volume_options(points: float, volume: Volume, mount_type: str, max_bytes: int,
                   name: str = "volume_options") -> Check:
    """The volume comes from the `local` driver with the mount options the task gives: the filesystem type, a device,
    and a size limit in `o` no bigger than `max_bytes`. The engine records the options when the volume is made and
    mounts them only when a container uses it, so a wrong option is seen here or only much later."""

    def run(ctx: GradingContext) -> Outcome:
        attrs = volume_as_asked(volume)
        if isinstance(attrs, Outcome):
            return attrs
        options = attrs.get("Options") or {}
        found = []
        if attrs.get("Driver") != "local":
            found.append(f"its driver is `{attrs.get('Driver')}`, not `local`")
        if options.get("type") != mount_type:
            found.append(f"its `type` option is `{options['type']}`" if "type" in options else
                         "it has no `type` option: it is an ordinary folder on the engine's disk")
        if not options.get("device"):
            found.append("it has no `device` option, which the local driver needs to mount it")
        written = _size_option(str(options.get("o") or ""))
        size = size_bytes(written) if written else None
        limit = f"{max_bytes // MB} MB"
        if size is None:
            found.append(f"its `o` option sets no size in bytes (`{options.get('o', '')}`), so it may fill the "
                         f"engine's memory (the task's limit is {limit})")
        elif size > max_bytes:
            found.append(f"its size is {size / MB:g} MB, more than {limit}")
        if found:
            return Outcome.failed(f"The volume `{volume.name}` exists, but " + "; ".join(found) + ".",
                                  "A volume's driver and options are fixed when it is made: remove it "
                                  f"(`docker volume rm {volume.name}`) and make it again: `{volume.command}`.")
        return Outcome.passed(f"The volume `{volume.name}` is a {mount_type} of the local driver, at most "
                              f"{(size or 0) / MB:g} MB (`docker volume inspect {volume.name}` shows its options).")

    return Check(name, f"Volume {volume.name} made with the local driver's {mount_type} options", points,
                 Category.STATE, NEEDS, run, tags=("volume", "driver"))


def _stands_alone(text: str, value: str) -> bool:
    return re.search(rf"(?<![\w/.-]){re.escape(value)}(?![\w/.-])", text) is not None


def storage_facts_saved(points: float, file: str, volume: str, name: str = "where_data_lives") -> Check:
    """The file names the engine's storage driver and the volume's mount point, as the engine reports them: the
    learner asked the engine, rather than copying what a page says it usually is."""
    commands = (f"docker info --format '{{{{.Driver}}}}' > {file}` and "
                f"`docker volume inspect --format '{{{{.Mountpoint}}}}' {volume} >> {file}")

    def run(ctx: GradingContext) -> Outcome:
        text = ctx.handed_in.get(file)
        if text is None or not text.strip():
            return Outcome.failed(f"`{file}` is missing or empty in your folder.", f"Ask the engine: `{commands}`.")
        driver = str(engine.client().info().get("Driver") or "")
        attrs = volume_attrs(volume)
        if attrs is None:
            return Outcome.failed(f"There is no volume `{volume}` whose mount point `{file}` could name.",
                                  f"Make the volume as the task says, then `{commands}`.")
        mountpoint = str(attrs.get("Mountpoint") or "")
        missing = []
        if not _stands_alone(text, driver):
            missing.append(f"the storage driver this engine uses, `{driver}`")
        if not _stands_alone(text, mountpoint):
            missing.append(f"the mount point of `{volume}`, `{mountpoint}`")
        if missing:
            shown = " ".join(text.strip().split())[:160]
            return Outcome.failed(f"`{file}` holds `{shown}`, which does not name " + " or ".join(missing) + ".",
                                  f"Write what this engine says, not what is usual elsewhere: `{commands}`.")
        return Outcome.passed(f"`{file}` names the storage driver `{driver}` and the mount point `{mountpoint}`.")

    return Check(name, f"{file} says where the engine keeps data", points, Category.STATE, FILE_NEEDS, run,
                 tags=("files", "engine"))

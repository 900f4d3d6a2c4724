"""The grader's copy of a submission: the only thing it parses, builds, runs and bind-mounts.

A learner's folder is untrusted. A link in it could point at any file of the machine (another project's
compose file, an SSH key), and a container could swap a folder for such a link while a run goes on. So the
grader copies the folder first, without following a single link out of it: a link that stays inside is
copied as the file it names, anything else (a link out of the folder, a link to a folder, a dangling
link, a pipe or a device) is refused, named in the message, and never opened. The copy holds only real
folders and regular files, so nothing the grader writes or reads there can lead outside it.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from docker.utils.build import exclude_paths

from graders import engine
from graders.errors import SubmissionError
from graders.labels import scratch_prefix

SKIP = frozenset({".ipynb_checkpoints", "__pycache__"})
MAX_PROBLEMS_SHOWN = 5
FOLDER_TOO_LARGE = ("Your folder", "Keep data sets and models out of the lab's folder: mount them, or let a service "
                    "download them.")


class TooLarge(SubmissionError):
    """The folder holds more than the grader copies; nothing was copied."""


def stage(submission: Path, lab_id: str, run_id: str, *, max_bytes: int, plant: Iterable[tuple[str, str]] = (),
          ignore_file: str | None = None, keep: tuple[str, ...] = (), skip_suffixes: tuple[str, ...] = (),
          too_large: tuple[str, str] = FOLDER_TOO_LARGE) -> Path:
    """Copy `submission` into a fresh temporary folder (`…/context`) and plant the lab's files there.

    ignore_file: a .dockerignore-style file of the submission whose patterns leave paths out of the copy
    (a Dockerfile lab's build context: its data folder need not be copied, nor count against the limit);
    `keep` (the Dockerfile, the ignore file) is copied whatever the patterns say, as the builder reads it.
    Raises SubmissionError, before anything is copied, for what the grader refuses to follow or read, and
    TooLarge (what, hint: `too_large`) when the files to copy hold more than `max_bytes`."""
    root = submission.resolve()
    included = sorted(set(_included(root, ignore_file)) | {k for k in keep if os.path.lexists(root / k)})
    entries, problems, total = [], [], 0
    for rel in included:
        if any(part in SKIP for part in Path(rel).parts) or rel.endswith(skip_suffixes):
            continue
        path = root / rel
        kind, target, problem = _judge(root, path, rel)
        if problem:
            problems.append(problem)
            continue
        if kind == "file" and target is not None:
            total += target.stat().st_size
        entries.append((rel, kind, target))
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN]) + ("; …" if len(problems) > MAX_PROBLEMS_SHOWN else "")
        raise SubmissionError(f"The grader does not follow links out of your folder, nor read pipes or devices: {shown}.",
                              "Replace each link by the file itself (cp --dereference), or remove it from the lab's folder.")
    if total > max_bytes:
        what, hint = too_large
        raise TooLarge(f"{what} holds more than {max_bytes // 2**20} MB; the grader copies it before it builds or runs "
                       "anything.", hint)
    staged = Path(tempfile.mkdtemp(prefix=scratch_prefix(lab_id, run_id), dir=engine.scratch_dir())) / "context"
    staged.mkdir()
    try:
        for rel, kind, target in entries:
            if kind == "dir":
                (staged / rel).mkdir(parents=True, exist_ok=True)
            elif target is not None:
                (staged / rel).parent.mkdir(parents=True, exist_ok=True)
                _copy_file(target, staged / rel)
        for rel, content in plant:
            write_inside(staged, rel, content)
    except BaseException:
        shutil.rmtree(staged.parent, ignore_errors=True)
        raise
    return staged


def applicable_ignore(context: Path, dockerfile: str = "Dockerfile") -> str | None:
    """The ignore file the builder applies to a context: the Dockerfile's own (`Dockerfile.dockerignore`,
    next to it) before `.dockerignore`; None when there is neither (a link does not count)."""
    for name in (f"{dockerfile}.dockerignore", ".dockerignore"):
        if (context / name).is_file() and not (context / name).is_symlink():
            return name
    return None


def sent_paths(context: Path, dockerfile: str = "Dockerfile") -> set[str]:
    """The paths (relative, folders and files) the builder is sent from `context`, its ignore file applied."""
    ignore = applicable_ignore(context, dockerfile)
    return set(exclude_paths(str(context), ignore_patterns(context / ignore) if ignore else []))


def ignore_patterns(ignore: Path) -> list[str]:
    """The patterns of a .dockerignore-style file (comments and blank lines left out); none when it is not
    a regular file (a link is not followed)."""
    if not ignore.is_file() or ignore.is_symlink():
        return []
    return [line.strip() for line in ignore.read_text(errors="replace").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _included(root: Path, ignore_file: str | None) -> list[str]:
    """Relative paths of the folder (folders and files), minus those the ignore file leaves out."""
    patterns = ignore_patterns(root / ignore_file) if ignore_file else []
    return sorted(exclude_paths(str(root), patterns))


def _judge(root: Path, path: Path, rel: str) -> tuple[str, Path | None, str]:
    """(kind, the file to copy, a problem): what the copy does with one entry of the folder."""
    mode = path.lstat().st_mode
    if stat.S_ISDIR(mode):
        return "dir", None, ""
    if stat.S_ISREG(mode):
        return "file", path, ""
    if not stat.S_ISLNK(mode):
        return "", None, f"`{rel}` is not a regular file (a pipe, socket or device)"
    said = os.readlink(path)
    target = Path(os.path.realpath(path))
    if not target.is_relative_to(root):
        return "", None, f"`{rel}` is a link to {said}, outside your folder"
    if not target.exists():
        return "", None, f"`{rel}` is a link to {said}, which does not exist"
    if not stat.S_ISREG(target.stat().st_mode):
        return "", None, f"`{rel}` is a link to the folder {said}; copy the folder instead"
    return "file", target, ""


def _copy_file(source: Path, dest: Path) -> None:
    """Copy a regular file without following a link at either end (O_NOFOLLOW), keeping its mode bits."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(source, flags)
    try:
        mode = os.fstat(fd).st_mode
        with os.fdopen(fd, "rb", closefd=False) as src, _open_new(dest, stat.S_IMODE(mode)) as out:
            shutil.copyfileobj(src, out, 1 << 20)
    finally:
        os.close(fd)


def _open_new(path: Path, mode: int = 0o644) -> io.FileIO:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    return io.FileIO(os.open(path, flags, mode), "wb")


def write_inside(root: Path, rel: str, content: str) -> Path:
    """Write a file of the grader's at `rel` under `root`, refusing to pass through any link on the way
    (a staged copy has none, but a container with a bind mount could have made one since)."""
    target = root
    parts = Path(rel).parts
    if Path(rel).is_absolute() or ".." in parts:
        raise ValueError(f"{rel!r} is not a path inside the staged folder")
    for part in parts[:-1]:
        target = target / part
        try:
            mode = target.lstat().st_mode
        except FileNotFoundError:
            target.mkdir()
            continue
        if not stat.S_ISDIR(mode):
            raise SubmissionError(f"`{Path(*parts[:-1])}` is not a folder, so the grader cannot add {rel} there.",
                                  f"Remove `{target.relative_to(root)}` from your folder.")
    target = target / parts[-1]
    with _open_new(target) as out:
        out.write(content.encode())
    return target

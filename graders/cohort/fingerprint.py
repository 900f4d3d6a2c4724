"""A key for one grading: what the learner handed in, the lab as the grader knows it, the grader's version
and the base images' IDs. Two gradings with one key would give the same verdict, so the second is skipped."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import graders
from graders.spec import LabSpec

MAX_FILES = 20_000  # a folder with more is keyed by what is read; the grading itself refuses it


def submission_digest(folder: Path) -> str:
    """SHA-256 over every file's path, mode and content under folder (symlinks by their target text)."""
    digest = hashlib.sha256()
    count = 0
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            count += 1
            if count > MAX_FILES:
                return digest.hexdigest()
            digest.update(f"{rel}\0".encode())
            if path.is_symlink():
                digest.update(f"-> {os.readlink(path)}\0".encode())
                continue
            digest.update(f"{path.stat().st_mode & 0o777:o}\0".encode())
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


def lab_digest(spec: LabSpec) -> str:
    """The lab as the grader knows it: its folder (spec, solution, variants) and its starter files."""
    digest = hashlib.sha256(spec.id.encode())
    for folder in (spec.folder, spec.starter_dir):
        if folder.is_dir():
            digest.update(submission_digest(folder).encode())
    return digest.hexdigest()


@functools.cache
def grader_version() -> str:
    """The package's version and a digest of the grader's own code: a fix to a check regrades, even before
    the version number moves."""
    try:
        version = metadata.version("docker-mastery")
    except metadata.PackageNotFoundError:
        version = "unknown"
    package = Path(graders.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if "labs" not in path.relative_to(package).parts[:1]:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{version}+{digest.hexdigest()[:16]}"


def grading_key(submission: str, lab: str, image_ids: Iterable[str]) -> str:
    """The key of a grading: submission digest, lab digest, grader version and base image IDs."""
    parts = [submission, lab, grader_version(), *sorted(image_ids)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()

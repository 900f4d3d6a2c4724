"""Assemble a submission folder from the lab's files: the starter, then the solution, then a broken variant.

Solutions and variants hold only the files they change, so the lab's app code lives in one place.
A variant's `variant.toml` says what it breaks (the checks it must fail) and which files it deletes.
"""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from graders.spec import LabSpec

SKIP = {"variant.toml", ".ipynb_checkpoints", "__pycache__"}


@dataclass(frozen=True)
class Variant:
    name: str
    folder: Path
    description: str
    fails: frozenset[str]
    delete: tuple[str, ...]


def variants(spec: LabSpec) -> list[Variant]:
    out = []
    for folder in sorted(p for p in spec.broken_dir.iterdir() if p.is_dir()):
        meta = tomllib.loads((folder / "variant.toml").read_text())
        out.append(Variant(name=folder.name, folder=folder, description=meta["description"],
                           fails=frozenset(meta["fails"]), delete=tuple(meta.get("delete", ()))))
    return out


def _overlay(source: Path, target: Path) -> None:
    for path in source.rglob("*"):
        rel = path.relative_to(source)
        if any(part in SKIP for part in rel.parts) or path.suffix == ".ipynb":
            continue
        if path.is_dir():
            (target / rel).mkdir(parents=True, exist_ok=True)
        else:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / rel)


def materialize(spec: LabSpec, variant: Variant | None = None, into: Path | None = None, solution: bool = True) -> Path:
    """A folder holding the starter files overlaid with the solution (and a variant). Caller removes it."""
    target = into or Path(tempfile.mkdtemp(prefix=f"mastery-{spec.id}-"))
    _overlay(spec.starter_dir, target)
    if solution:
        _overlay(spec.solution_dir, target)
    if variant is not None:
        _overlay(variant.folder, target)
        for name in variant.delete:
            (target / name).unlink(missing_ok=True)
    return target

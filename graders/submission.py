"""Assemble a submission folder from the lab's files: the starter, then the solution, then a broken variant.

Solutions and variants hold only the files they change, so the lab's app code lives in one place.
A broken variant is one `broken/NAME.toml`: what it breaks (the checks it must fail), and the edits
that break it (replace `old` by `new` in a file of the solution, or delete a file).
"""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from graders.spec import LabSpec

SKIP = {".ipynb_checkpoints", "__pycache__"}


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    fails: frozenset[str]
    edits: tuple[Edit, ...]
    delete: tuple[str, ...]


def variants(spec: LabSpec) -> list[Variant]:
    out = []
    for path in sorted(spec.broken_dir.glob("*.toml")):
        meta = tomllib.loads(path.read_text())
        edits = tuple(Edit(e["file"], e["old"], e["new"]) for e in meta.get("edit", ()))
        out.append(Variant(name=path.stem, description=meta["description"], fails=frozenset(meta["fails"]),
                           edits=edits, delete=tuple(meta.get("delete", ()))))
    return out


def variant(spec: LabSpec, name: str) -> Variant:
    for v in variants(spec):
        if v.name == name:
            return v
    raise KeyError(f"lab {spec.id} has no broken variant {name!r}")


def _apply(variant: Variant, target: Path) -> None:
    for edit in variant.edits:
        path = target / edit.file
        text = path.read_text()
        if edit.old not in text:
            raise ValueError(f"variant {variant.name}: {edit.file} does not contain {edit.old!r}")
        path.write_text(text.replace(edit.old, edit.new))
    for name in variant.delete:
        (target / name).unlink(missing_ok=True)


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
        _apply(variant, target)
    return target

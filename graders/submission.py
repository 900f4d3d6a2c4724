"""Assemble a submission folder from the lab's files: the starter, then the solution, then a variant.

Solutions and variants hold only the files they change, so the lab's app code lives in one place. A
variant is one TOML file in a folder of the lab named for its kind:
- `broken/`: a mistake learners make, and the checks it must fail;
- `alternatives/`: a correct submission that differs from the reference the way a competent engineer
  might choose (it must score full marks: `fails` is empty);
- `gaming/`: a shortcut that satisfies the letter of a check, and the checks it must fail.
Each holds what it is (`description`, `fails`) and how it is made from the solution: whole files written
(`[[write]]` file, content), edits (`[[edit]]` replace `old` by `new` in a file) and files deleted.
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


KINDS = ("broken", "alternatives", "gaming")


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    fails: frozenset[str]
    edits: tuple[Edit, ...]
    delete: tuple[str, ...]
    kind: str = "broken"
    writes: tuple[tuple[str, str], ...] = ()  # (file, whole content)

    @property
    def label(self) -> str:
        """How a person names it: `alternatives/arg-base`."""
        return f"{self.kind}/{self.name}"


def variants(spec: LabSpec, kind: str = "broken") -> list[Variant]:
    """The lab's variants of one kind, by name."""
    out = []
    for path in sorted((spec.folder / kind).glob("*.toml")):
        meta = tomllib.loads(path.read_text())
        edits = tuple(Edit(e["file"], e["old"], e["new"]) for e in meta.get("edit", ()))
        writes = tuple((w["file"], w["content"]) for w in meta.get("write", ()))
        fails = frozenset(meta.get("fails", ()))
        if kind == "alternatives" and fails:
            raise ValueError(f"{path}: an alternative is a correct submission; it fails nothing")
        if kind != "alternatives" and not fails:
            raise ValueError(f"{path}: name the checks this variant must fail (`fails`)")
        out.append(Variant(name=path.stem, description=meta["description"], fails=fails, edits=edits,
                           delete=tuple(meta.get("delete", ())), kind=kind, writes=writes))
    return out


def variant(spec: LabSpec, name: str) -> Variant:
    """A variant by its name (`bloated`) or its label (`broken/bloated`), of any kind."""
    for kind in KINDS:
        for v in variants(spec, kind):
            if name in (v.name, v.label):
                return v
    known = ", ".join(v.label for kind in KINDS for v in variants(spec, kind))
    raise KeyError(f"lab {spec.id} has no variant {name!r}; it has: {known}")


def _apply(variant: Variant, target: Path) -> None:
    for file, content in variant.writes:
        (target / file).parent.mkdir(parents=True, exist_ok=True)
        (target / file).write_text(content)
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

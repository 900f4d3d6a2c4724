"""Kubernetes manifests as a learner wrote them: every document of every YAML file, with where it came from.

The files are untrusted: each is read only if it is a plain file inside the submission, under a size cap, with
`yaml.safe_load` (no Python objects), and a document whose aliases expand past a cap (a "billion laughs" file) or
that nests deeper than the parser can follow is refused with a message, never a traceback or a hung grader.
Checks read documents through the helpers here, which tolerate any shape: a field of the wrong type is the
schema check's to report, and the others see it as absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from graders.errors import SubmissionError

KUBERNETES_VERSION = "1.35"  # the schemas manifests are judged against; the oldest minor still supported upstream
MAX_FILE_BYTES = 256 * 1024  # a lab's manifests are a few KiB; a file this big is a mistake or an attack
MAX_TOTAL_BYTES = 1024 * 1024
MAX_DOCUMENTS = 100
MAX_NODES = 100_000  # values in one document, counting every alias expanded
SUFFIXES = (".yaml", ".yml")
# Kinds whose Pods are described by a template, and where that template's Pod spec is.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}


@dataclass(frozen=True)
class Document:
    """One YAML document: its file (relative to the submission), its place in that file and its first line."""

    file: str
    index: int  # 1-based
    line: int
    data: Any

    @property
    def kind(self) -> str:
        return str(get(self.data, "kind") or "")

    @property
    def name(self) -> str:
        return str(get(self.data, "metadata", "name") or "")

    @property
    def where(self) -> str:
        """How a message names it: `k8s/deployment.yaml` document 1 (Deployment `iris-api`, line 3)."""
        what = f"{self.kind} `{self.name}`" if self.kind and self.name else self.kind or "no kind"
        return f"`{self.file}` document {self.index} ({what}, line {self.line})"

    @property
    def short(self) -> str:
        """How a message names it among others of its kind: Deployment `iris-api`."""
        return f"{self.kind} `{self.name or '(no name)'}`"


@dataclass(frozen=True)
class Manifests:
    files: tuple[str, ...]  # every file read, relative to the submission
    documents: tuple[Document, ...]  # every non-empty document, in file order

    def of_kind(self, *kinds: str) -> list[Document]:
        return [d for d in self.documents if isinstance(d.data, dict) and d.kind in kinds]

    @property
    def objects(self) -> list[Document]:
        """The documents that are mappings: what could be a Kubernetes object."""
        return [d for d in self.documents if isinstance(d.data, dict)]


def get(data: Any, *keys: str | int) -> Any:
    """data[k1][k2]..., or None where a step is missing or of the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or not -len(data) <= key < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[key] if isinstance(key, int) else data.get(key)
    return data


def mapping(data: Any, *keys: str | int) -> dict[str, Any]:
    found = get(data, *keys)
    return found if isinstance(found, dict) else {}


def items(data: Any, *keys: str | int) -> list[Any]:
    found = get(data, *keys)
    return found if isinstance(found, list) else []


def pod_spec(doc: Document) -> tuple[str, dict[str, Any]] | None:
    """The Pod spec of a workload (its path, written as in messages, and the mapping), or None for other kinds."""
    path = POD_SPEC_PATHS.get(doc.kind)
    if path is None:
        return None
    return ".".join(path), mapping(doc.data, *path)


def pod_labels(doc: Document) -> dict[str, Any]:
    """The labels a workload gives its Pods (a Pod's own labels)."""
    path = POD_SPEC_PATHS.get(doc.kind)
    if path is None:
        return {}
    return mapping(doc.data, *path[:-1], "metadata", "labels")


def containers(spec: dict[str, Any], *, init: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each container of a Pod spec with its path: `containers[0]`, then `initContainers[0]`..."""
    for field in ("containers", "initContainers") if init else ("containers",):
        for i, container in enumerate(items(spec, field)):
            if isinstance(container, dict):
                yield f"{field}[{i}]", container


def field_path(parts: Any) -> str:
    """A jsonschema error path as messages write it: spec.template.spec.containers[0].image."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load(submission: Path, folders: tuple[str, ...]) -> Manifests:
    """Every *.yaml and *.yml file directly in the folders (as `kubectl apply -f FOLDER` reads them), in name
    order. Raises SubmissionError for a file that cannot be read safely or is not YAML, naming it and the line."""
    root = submission.resolve()
    paths: list[Path] = []
    for folder in folders:
        where = submission / folder
        if where.is_dir() and not where.is_symlink():
            paths += sorted(p for p in where.iterdir() if p.suffix in SUFFIXES)
    total = 0
    files: list[str] = []
    documents: list[Document] = []
    for path in paths:
        rel = path.relative_to(submission).as_posix()
        if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(root):
            raise SubmissionError(f"`{rel}` is not a plain file in your folder (a link, or a folder).",
                                  f"Make `{rel}` an ordinary file: the grader reads nothing outside your folder.")
        size = path.stat().st_size
        total += size
        if size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
            raise SubmissionError(f"`{rel}` is {size // 1024} KiB; the grader reads at most {MAX_FILE_BYTES // 1024} KiB a "
                                  f"file and {MAX_TOTAL_BYTES // 1024} KiB in all.",
                                  "A lab's manifests are a few KiB: remove what does not belong in them.")
        files.append(rel)
        documents += _documents(rel, path.read_bytes())
        if len(documents) > MAX_DOCUMENTS:
            raise SubmissionError(f"`{rel}` brings the manifests to more than {MAX_DOCUMENTS} documents.",
                                  "The lab needs a handful of objects: remove the rest.")
    return Manifests(tuple(files), tuple(documents))


def _documents(rel: str, raw: bytes) -> list[Document]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"`{rel}` is not UTF-8 text (byte {exc.start}).", f"Save `{rel}` as UTF-8.") from None
    loader = yaml.SafeLoader(text)
    out: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            data = loader.construct_document(node)
            if data is None:
                continue
            if _too_big(data):
                raise SubmissionError(
                    f"`{rel}` document {len(out) + 1} (line {line}) expands to more than {MAX_NODES} values: its anchors "
                    "and aliases (`&name`, `*name`) repeat each other.",
                    "Write the manifest out without nested aliases; Kubernetes manifests rarely need any.")
            out.append(Document(rel, len(out) + 1, line, data))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise SubmissionError(f"`{rel}` is not valid YAML{at}: {exc.problem or exc.context}.",
                              "Look at that line and the one before it: a wrong indent, a tab, or a missing `:` or quote "
                              "is the usual cause.") from None
    except yaml.YAMLError as exc:
        raise SubmissionError(f"`{rel}` is not valid YAML: {exc}.", f"Fix `{rel}` so that it parses.") from None
    except RecursionError:
        raise SubmissionError(f"`{rel}` nests deeper than the grader follows.",
                              "A manifest is a few levels deep: look for brackets that never close.") from None
    finally:
        loader.dispose()
    return out


def _too_big(data: Any) -> bool:
    """Whether walking data, every alias expanded, visits more than MAX_NODES values (cycles included)."""
    seen = 0
    stack = [data]
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False

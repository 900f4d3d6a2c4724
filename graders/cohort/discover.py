"""Where a cohort's submissions are: one folder per learner, or nbgrader's `submitted/<learner>/<lab>/`."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from graders.errors import UsageError

# What a learner's name may be as a folder name and as a row of the class's files.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")


@dataclass(frozen=True)
class Learner:
    name: str
    folder: Path


def find_submissions(root: Path, lab_id: str) -> list[Learner]:
    """The learners under root, sorted by name. With nbgrader's layout (root/<learner>/<lab>/, or root's
    `submitted/` folder) the lab's folder is the submission; otherwise each sub-folder of root is one.
    Hidden folders and names that cannot be a learner's are left out; a root with none is a usage error."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder.", "Pass the folder that holds one sub-folder per learner, "
                                                     "or nbgrader's course folder (with submitted/ in it).")
    base = root / "submitted" if (root / "submitted").is_dir() else root
    found = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not _NAME.fullmatch(folder.name):
            continue
        nbgrader = folder / lab_id
        found.append(Learner(folder.name, nbgrader if nbgrader.is_dir() else folder))
    if not found:
        raise UsageError(f"{base} holds no learner's folder.",
                         "Put each learner's files in a folder named after them (alice/, bob/...), or point at "
                         "nbgrader's course folder after `nbgrader collect`.")
    return found


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (0 <= I < N): the part of a cohort one of N workers grades, as a Kubernetes Indexed Job hands out."""
    index, _, count = text.partition("/")
    try:
        shard, shards = int(index), int(count)
    except ValueError:
        shard, shards = -1, 0
    if not 0 <= shard < shards:
        raise UsageError(f"--shard {text} is not INDEX/COUNT with 0 <= INDEX < COUNT.",
                         "Give the worker's index and the number of workers, e.g. --shard 0/4 ... --shard 3/4.")
    return shard, shards


def in_shard(learners: list[Learner], shard: int, shards: int) -> list[Learner]:
    """The learners of one shard, chosen by a hash of the name: stable when learners are added or removed, so a
    re-run of a grown cohort sends each learner to the same worker (and the result it stored)."""
    return [x for x in learners if int(hashlib.sha256(x.name.encode()).hexdigest(), 16) % shards == shard]

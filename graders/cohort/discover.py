"""Where a cohort's submissions are: one folder per learner, or nbgrader's `submitted/<learner>/<lab>/`."""

from __future__ import annotations

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

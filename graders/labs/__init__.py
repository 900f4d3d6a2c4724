"""The lab registry: each lab is a package here whose `spec` module defines SPEC, validated as it loads."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterable

from graders.errors import UsageError
from graders.images import RECIPES
from graders.spec import LabSpec
from graders.validation import validate


@functools.cache
def all_labs() -> dict[str, LabSpec]:
    labs: dict[str, LabSpec] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg:
            module = importlib.import_module(f"{__name__}.{info.name}.spec")
            spec: LabSpec = module.SPEC
            labs[spec.id] = validate(spec)
    return dict(sorted(labs.items()))


def get_lab(lab_id: str) -> LabSpec:
    labs = all_labs()
    if lab_id not in labs:
        raise UsageError(f"There is no lab called {lab_id!r}.", f"Labs: {', '.join(labs)} (see `mastery labs`).")
    return labs[lab_id]


def course_images(lab_ids: Iterable[str] | None = None) -> list[str]:
    """The base images the named labs need; without names, every image the course teaches with
    (the labs' and the Debian and Python images the lessons use), in a stable order."""
    if lab_ids:
        return sorted({ref for lab_id in lab_ids for ref in get_lab(lab_id).base_images})
    return sorted({ref for spec in all_labs().values() for ref in spec.base_images} | set(RECIPES))

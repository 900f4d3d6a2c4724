"""The lab registry: each lab is a package here whose `spec` module defines SPEC."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from graders.errors import UsageError
from graders.spec import LabSpec


@functools.cache
def all_labs() -> dict[str, LabSpec]:
    labs: dict[str, LabSpec] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg:
            module = importlib.import_module(f"{__name__}.{info.name}.spec")
            spec: LabSpec = module.SPEC
            labs[spec.id] = spec
    return dict(sorted(labs.items()))


def get_lab(lab_id: str) -> LabSpec:
    labs = all_labs()
    if lab_id not in labs:
        raise UsageError(f"There is no lab called {lab_id!r}.", f"Labs: {', '.join(labs)} (see `mastery labs`).")
    return labs[lab_id]

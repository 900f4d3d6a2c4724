"""Refuse, when the labs load, a lab spec whose parts do not fit together.

A spec is data written by course authors; what would otherwise surface in a learner's run as an assertion
deep in a check (a Dockerfile check in a compose lab, a runtime check of a batch job's port) is caught here,
with the lab, the check and what to change.
"""

from __future__ import annotations

from collections import Counter

from graders import kinds, submission
from graders.errors import SpecInvalid
from graders.spec import LabSpec


def problems(spec: LabSpec) -> list[str]:
    """Everything wrong with spec, one sentence each; empty when it fits together."""
    found: list[str] = []
    if spec.kind not in kinds.names():
        return [f"kind {spec.kind!r} is not a lab kind (known: {', '.join(kinds.names())})"]
    provided = kinds.get_kind(spec.kind).provides(spec)
    counts = Counter(check.name for check in spec.checks)
    found += [f"{count} checks are named {name!r}: each check needs a name of its own" for name, count in counts.items()
              if count > 1]
    for check in spec.checks:
        missing = [need for need in check.needs if need not in provided]
        if missing:
            what = ", ".join(need.value for need in missing)
            found.append(f"check {check.name!r} needs {what}, which a {spec.kind} lab"
                         f"{' run as ' + spec.run_mode.value if spec.kind == 'dockerfile' else ''} does not provide")
    names = set(counts)
    for kind in submission.KINDS:
        try:
            variants = submission.variants(spec, kind)
        except (ValueError, KeyError) as exc:  # a variant file that is not TOML, lacks a key, or contradicts its kind
            found.append(f"a {kind} variant cannot be read: {exc}")
            continue
        for variant in variants:
            unknown = sorted(variant.fails - names)
            if unknown:
                found.append(f"{variant.label} names checks this lab does not have: {', '.join(unknown)}")
    return found


def validate(spec: LabSpec) -> LabSpec:
    """spec, or SpecInvalid listing everything wrong with it."""
    found = problems(spec)
    if found:
        raise SpecInvalid(f"Lab {spec.id!r} does not fit together: " + "; ".join(found) + ".",
                          f"Fix {spec.folder}/spec.py (or the variant named) before grading with it.")
    return spec

"""The size check: the image fits its budget, and a failure names the layers that weigh most."""

from __future__ import annotations

from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.results import Category

MB = 1_000_000


def biggest_layers(history: list[dict[str, object]], count: int = 3) -> list[str]:
    layers = sorted(history, key=lambda h: int(str(h.get("Size") or 0)), reverse=True)[:count]
    out = []
    for layer in layers:
        created = str(layer.get("CreatedBy") or "").replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ")
        out.append(f"{int(str(layer.get('Size') or 0)) / MB:.0f} MB  {created[:90]}")
    return out


def image_size(points: float, max_mb: float, name: str = "image_size") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        size = int(ctx.image_attrs.get("Size") or 0)
        if size <= max_mb * MB:
            return Outcome.passed(f"The image is {size / MB:.0f} MB (budget {max_mb:.0f} MB).")
        from graders.engine import client

        history = client().api.history(ctx.build.image_id) if ctx.build else []
        layers = "\n".join(f"  {line}" for line in biggest_layers(history))
        return Outcome.failed(f"The image is {size / MB:.0f} MB, over the {max_mb:.0f} MB budget. Biggest layers:\n{layers}",
                              "Start from a -slim base, use pip install --no-cache-dir, keep data and models out of the "
                              "image (.dockerignore), and delete temporary files in the same RUN that made them.")

    return Check(name, f"Image at most {max_mb:.0f} MB", points, Category.SIZE, (Need.IMAGE,), run)


def size_fraction_of_reference(points: float, reference: str, fraction: float,
                               name: str = "size_fraction") -> Check:
    """At most `fraction` of the size of the lab's reference image (built by the grader from the lab's
    own `reference` Dockerfile, so the comparison holds on any base image, real or stand-in)."""

    def run(ctx: GradingContext) -> Outcome:
        import contextlib

        from graders.build import build_image
        from graders.engine import client

        assert ctx.build is not None
        tag = f"{ctx.build.tag}-reference"
        folder = ctx.spec.starter_dir
        try:
            ref = build_image(folder, folder / reference, tag, {}, timeout_s=ctx.spec.limits.build_timeout_s,
                              limits=ctx.spec.limits)
            ref_size = int(client().images.get(ref.image_id).attrs.get("Size") or 0)
        finally:
            with contextlib.suppress(Exception):
                client().images.remove(tag, noprune=True)
        size = int(ctx.image_attrs.get("Size") or 0)
        ratio = size / ref_size if ref_size else 1.0
        if ratio <= fraction:
            return Outcome.passed(f"{size / MB:.0f} MB, {ratio:.0%} of {reference}'s {ref_size / MB:.0f} MB "
                                  f"(at most {fraction:.0%}).")
        layers = "\n".join(f"  {line}" for line in biggest_layers(client().api.history(ctx.build.image_id)))
        return Outcome.failed(f"{size / MB:.0f} MB is {ratio:.0%} of {reference}'s {ref_size / MB:.0f} MB; the budget "
                              f"is {fraction:.0%}. Biggest layers:\n{layers}",
                              "Install only what the job needs (no compilers, git or curl for a pure-Python job), "
                              "use pip install --no-cache-dir, and clean up in the same RUN that made the mess.")

    return Check(name, f"At most {fraction:.0%} of the original's size", points, Category.SIZE, (Need.IMAGE,), run)


def little_wasted_space(points: float, max_mb: float, name: str = "wasted_space") -> Check:
    """Bytes that later layers overwrite or delete, measured as dive measures them."""

    def run(ctx: GradingContext) -> Outcome:
        from graders.layers import image_layers, wasted_space

        assert ctx.build is not None
        waste = wasted_space(image_layers(ctx.build.image_id))
        if waste.wasted_bytes <= max_mb * MB:
            return Outcome.passed(f"{waste.wasted_bytes / MB:.1f} MB wasted across layers (at most {max_mb:g} MB).")
        worst = "\n".join(f"  {size / MB:.1f} MB  {path}" for path, size in waste.worst)
        return Outcome.failed(f"{waste.wasted_bytes / MB:.0f} MB of files are added by one layer and overwritten or "
                              f"deleted by a later one (at most {max_mb:g} MB). The largest:\n{worst}",
                              "A file deleted in a later RUN still fills the layer that added it: delete caches and "
                              "temporary files in the same RUN that created them.")

    return Check(name, f"At most {max_mb:g} MB wasted across layers", points, Category.SIZE, (Need.IMAGE,), run,
                 tags=("layers",))

"""The size check: the image fits its budget, and a failure names the layers that weigh most."""

from __future__ import annotations

from graders.context import GradingContext
from graders.results import Category
from graders.spec import Check, Outcome, Phase

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

    return Check(name, f"Image at most {max_mb:.0f} MB", points, Category.SIZE, Phase.BUILD, run)

"""Environment checks, read from the built image's configuration (what ENV left in the image)."""

from __future__ import annotations

from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.results import Category

WHY = {
    "PYTHONUNBUFFERED": "print output reaches docker logs at once instead of sitting in a buffer",
    "PYTHONDONTWRITEBYTECODE": "Python writes no .pyc files into the image's layers or a read-only file system",
}


# Python reads these as on when they hold any non-empty string ("1", "true", "yes" alike).
ON_WHEN_NON_EMPTY = frozenset(WHY)


def meets(key: str, wanted: str, value: str | None) -> bool:
    """Whether the image's value does what `wanted` asks, as the program reading it would judge."""
    if key in ON_WHEN_NON_EMPTY and wanted:
        return bool(value)
    return value == wanted


def env_set(points: float, expected: tuple[tuple[str, str], ...], name: str = "env_set") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        env = ctx.image_env
        wrong = [f"{key}={env.get(key, '(unset)') or '(empty)'}" for key, value in expected
                 if not meets(key, value, env.get(key))]
        if wrong:
            reasons = "; ".join(f"{key}: {WHY[key]}" for key, _ in expected if key in WHY)
            return Outcome.failed(f"Expected {', '.join(f'{k}={v}' for k, v in expected)}; the image has "
                                  f"{', '.join(wrong)}.",
                                  f"Set them with ENV in the final stage. Why: {reasons}.")
        return Outcome.passed("The image sets " + ", ".join(f"{k}={v}" for k, v in expected) + ".")

    return Check(name, "Python environment variables set", points, Category.STATIC, (Need.IMAGE,), run, tags=("env",))

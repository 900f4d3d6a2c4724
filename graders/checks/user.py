"""The user check: the process really runs as a non-root user (asked of the container, not the config)."""

from __future__ import annotations

from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.processes import app_uid
from graders.results import Category

ROOT_HINT = ("Create a user (RUN useradd --create-home app) and switch to it with USER app after the steps "
             "that need root, before CMD.")


def _app_uid(ctx: GradingContext) -> tuple[str, str] | None:
    rc = ctx.require_container()
    return app_uid(rc.exec, rc.container.id)


def runs_as_non_root(points: float, name: str = "runs_as_non_root") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        user = ctx.image_attrs.get("Config", {}).get("User")
        configured = f"the image says USER {user}" if user else "the image sets no USER"
        seen = _app_uid(ctx)
        if seen is None:
            return Outcome.failed("Could not ask the container which user its app runs as (no `cat` or `id`).",
                                  "Keep coreutils in the image, or check that the container is running.")
        uid, how = seen
        if uid == "0":
            return Outcome.failed(f"The app runs as root (uid 0, seen from {how}): {configured}.", ROOT_HINT)
        return Outcome.passed(f"The app runs as uid {uid} (seen from {how}; {configured}).")

    return Check(name, "Runs as a non-root user", points, Category.USER, (Need.CONTAINER,), run, tags=("security",))


def app_folder_owned(points: float, name: str = "app_folder_owned") -> Check:
    """The WORKDIR belongs to the user the app runs as, asked of the running container."""

    def run(ctx: GradingContext) -> Outcome:
        rc = ctx.require_container()
        workdir = ctx.image_attrs.get("Config", {}).get("WorkingDir") or ""
        if not workdir or workdir == "/":
            return Outcome.failed("The image sets no WORKDIR for the app.", "Add WORKDIR /app before copying the app.")
        seen = _app_uid(ctx)
        code, owner = rc.exec(["stat", "-c", "%u", workdir])
        if seen is None or code != 0:
            return Outcome.failed(f"Could not read who owns {workdir}: {owner if seen else 'no `cat` or `id`'}",
                                  "Keep coreutils (cat, id, stat) in the image.")
        uid = seen[0]
        if uid.strip() == "0":
            return Outcome.failed(f"The app runs as root, so owning {workdir} proves nothing.", ROOT_HINT)
        if owner.strip() != uid.strip():
            # The learner's own user, as their USER names it (a name or a UID), so the hint fits their Dockerfile.
            user = (ctx.image_attrs.get("Config", {}).get("User") or uid.strip()).split(":")[0]
            return Outcome.failed(f"{workdir} belongs to uid {owner.strip()}, but the app runs as uid {uid.strip()}.",
                                  f"Hand the folder to the app's user before USER {user}: RUN mkdir -p {workdir} && "
                                  f"chown {user} {workdir} (or COPY --chown={user} the files into it).")
        return Outcome.passed(f"{workdir} belongs to uid {uid.strip()}, the user the app runs as.")

    return Check(name, "The app user owns the app folder", points, Category.USER, (Need.CONTAINER,), run,
                 tags=("security",))

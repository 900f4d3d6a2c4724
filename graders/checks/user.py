"""The user check: the process really runs as a non-root user (asked of the container, not the config)."""

from __future__ import annotations

from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.processes import app_process
from graders.results import Category

ROOT_HINT = ("Create a user (RUN useradd --create-home app) and switch to it with USER app after the steps "
             "that need root, before CMD.")


def _app_uid(ctx: GradingContext) -> tuple[str, str] | None:
    """(uid, how it was seen) of the app's process; the exec user or the engine's view where /proc is unreadable."""
    rc = ctx.require_container()
    process = app_process(rc.exec)
    if process is not None:
        return process.uid, f"its process {process.name} (PID {process.pid})"
    code, out = rc.exec(["id", "-u"])
    if code == 0 and out.strip():
        return out.strip().splitlines()[-1], "`id -u` in the container"
    top = _uid_from_top(ctx)
    return (top, "the engine's process list") if top is not None else None


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


def _uid_from_top(ctx: GradingContext) -> str | None:
    """Fallback when the image has no `cat` or `id`: ask the engine for the main process's user."""
    try:
        top = ctx.require_container().container.top(ps_args="-o uid,pid")
    except Exception:
        return None
    for row in top.get("Processes") or []:
        return str(row[0])
    return None


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

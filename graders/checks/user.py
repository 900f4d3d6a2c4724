"""The user check: the process really runs as a non-root user (asked of the container, not the config)."""

from __future__ import annotations

from graders.context import GradingContext
from graders.results import Category
from graders.spec import Check, Outcome, Phase

ROOT_HINT = ("Create a user (RUN useradd --create-home app) and switch to it with USER app after the steps "
             "that need root, before CMD.")


def runs_as_non_root(points: float, name: str = "runs_as_non_root") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        rc = ctx.require_container()
        user = ctx.image_attrs.get("Config", {}).get("User")
        configured = f"the image says USER {user}" if user else "the image sets no USER"
        code, out = rc.exec(["id", "-u"])
        if code != 0:
            top = _uid_from_top(ctx)
            if top is None:
                return Outcome.failed(f"Could not ask the container which user it runs as: {out or f'exit {code}'}.",
                                      "Keep `id` in the image (coreutils), or check that the container is running.")
            uid = top
        else:
            uid = out.strip().splitlines()[-1] if out.strip() else "?"
        if uid == "0":
            return Outcome.failed(f"The app runs as root (uid 0): {configured}.", ROOT_HINT)
        return Outcome.passed(f"The app runs as uid {uid} ({configured}).")

    return Check(name, "Runs as a non-root user", points, Category.USER, Phase.RUNTIME, run, tags=("security",))


def _uid_from_top(ctx: GradingContext) -> str | None:
    """Fallback when the image has no `id`: ask the engine for the main process's user."""
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
        code, uid = rc.exec(["id", "-u"])
        code2, owner = rc.exec(["stat", "-c", "%u", workdir])
        if code != 0 or code2 != 0:
            return Outcome.failed(f"Could not read who owns {workdir}: {uid if code else owner}",
                                  "Keep coreutils (id, stat) in the image.")
        if uid.strip() == "0":
            return Outcome.failed(f"The app runs as root, so owning {workdir} proves nothing.", ROOT_HINT)
        if owner.strip() != uid.strip():
            # The learner's own user, as their USER names it (a name or a UID), so the hint fits their Dockerfile.
            user = (ctx.image_attrs.get("Config", {}).get("User") or uid.strip()).split(":")[0]
            return Outcome.failed(f"{workdir} belongs to uid {owner.strip()}, but the app runs as uid {uid.strip()}.",
                                  f"Hand the folder to the app's user before USER {user}: RUN mkdir -p {workdir} && "
                                  f"chown {user} {workdir} (or COPY --chown={user} the files into it).")
        return Outcome.passed(f"{workdir} belongs to uid {uid.strip()}, the user the app runs as.")

    return Check(name, "The app user owns the app folder", points, Category.USER, Phase.RUNTIME, run,
                 tags=("security",))

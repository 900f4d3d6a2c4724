"""Volume checks: what the server writes into its mounted folder appears on the host, with a user
that can still read and change it there."""

from __future__ import annotations

import requests

from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.probes import no_answer, request_container
from graders.results import Category


def server_writes_to_volume(points: float, name: str = "writes_to_volume") -> Check:
    """Saves a file through JupyterLab's contents API and looks for it in the grader's mounted folder."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.volume_dir is not None and ctx.spec.volume is not None
        filename = f"saved-by-the-grader-{ctx.run_id}.txt"
        body = {"type": "file", "format": "text", "content": f"written through JupyterLab, run {ctx.run_id}\n"}
        headers = {"Authorization": f"token {ctx.secret}"}
        try:
            # The page JupyterLab serves sets its _xsrf cookie; sent back, a save works even where the server
            # was (wrongly) started without authentication, so this check judges only where files land.
            page = request_container(ctx, "GET", "/lab", timeout_s=10, headers=headers)
            if xsrf := page.cookies.get("_xsrf"):
                headers |= {"X-XSRFToken": xsrf, "Cookie": f"_xsrf={xsrf}"}
            response = request_container(ctx, "PUT", f"/api/contents/{filename}", body, timeout_s=10, headers=headers)
        except requests.RequestException as exc:
            return no_answer(ctx, "Saving a file through JupyterLab", exc)
        if response.status_code not in (200, 201):
            said = f"Saving {filename} through JupyterLab answered {response.status_code}: {response.text.strip()[:200]}"
            if response.status_code in (401, 403):  # refused before any file was touched: the token, not the folder
                return Outcome.failed(said, "JupyterLab refused the grader's request with the token it was started "
                                            "with: start the server with the token from JUPYTER_TOKEN (the default) and "
                                            "keep its XSRF protection as it is.")
            return Outcome.failed(said, f"The server's user must be able to write to {ctx.spec.volume}: check who owns "
                                        "it in the image and which USER runs the server.")
        on_host = ctx.volume_dir / filename
        if not on_host.is_file():
            return Outcome.failed(f"JupyterLab saved {filename}, but it is not in the folder mounted at "
                                  f"{ctx.spec.volume}: the server's root folder is somewhere else.",
                                  f"Serve the notebooks from {ctx.spec.volume} (WORKDIR {ctx.spec.volume}, or "
                                  f"--ServerApp.root_dir={ctx.spec.volume}), so your work lands on your machine.")
        return Outcome.passed(f"A file saved through JupyterLab appeared in the host folder mounted at {ctx.spec.volume}.")

    return Check(name, "Saved notebooks land in the mounted folder", points, Category.STATE, (Need.SERVER,), run,
                 tags=("volume",))


def job_writes_file(points: float, filename: str, name: str = "writes_model", keys: tuple[str, ...] = ()) -> Check:
    """A batch job leaves `filename` (JSON, with `keys`) in the folder mounted at the lab's volume path."""

    def run(ctx: GradingContext) -> Outcome:
        import json

        assert ctx.volume_dir is not None and ctx.spec.volume is not None
        result = ctx.run_result
        tail = "\n".join((result.output if result else "").splitlines()[-10:]) or "(no output)"
        if result is None or result.exit_code != 0:
            code = result.exit_code if result else "none"
            return Outcome.failed(f"The job did not finish cleanly (exit code {code}). Its last lines:\n{tail}",
                                  "Run the image yourself with the folder mounted and read the error.")
        path = ctx.volume_dir / filename
        if not path.is_file():
            return Outcome.failed(f"The job finished, but {filename} is not in the folder mounted at {ctx.spec.volume}. "
                                  f"Its last lines:\n{tail}",
                                  f"Write the model to {ctx.spec.volume} (the script reads MODEL_DIR): a file written "
                                  "anywhere else stays in the container and is lost with it.")
        try:
            saved = json.loads(path.read_text())  # JSON only: nothing from a learner's container is ever unpickled
        except (UnicodeDecodeError, ValueError):
            return Outcome.failed(f"{filename} is not valid JSON.", "Leave the lab's train.py as it is.")
        missing = [key for key in keys if not isinstance(saved, dict) or key not in saved]
        if missing:
            return Outcome.failed(f"{filename} is in the folder, but it is not the model train.py saves: it lacks "
                                  f"{', '.join(missing)}.", "Let the image run the lab's train.py; it writes the model.")
        return Outcome.passed(f"The job wrote {filename} ({path.stat().st_size} bytes) into the mounted folder.")

    return Check(name, "The job writes its model to the mounted volume", points, Category.STATE, (Need.JOB_RESULT,), run,
                 tags=("volume",))

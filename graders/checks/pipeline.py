"""Pipeline checks: a one-off training job runs to completion and leaves its model in a named volume that the
API shares, and the API answers with that model.

The job's model card (a small JSON file beside the model: its MLflow run id, metrics, classes) is how the
checks tie the pieces together: the API must report the same run, and MLflow must hold it. The grader reads
the card from the job's stopped container, the way `docker cp` does, and never loads the model itself.
"""

from __future__ import annotations

import json
import posixpath
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from graders.check_model import Check, Need, Outcome
from graders.compose_cli import StackCommandFailed, gist
from graders.context import GradingContext
from graders.engine import config_env
from graders.probes import request_service
from graders.results import Category
from graders.stack import ANONYMOUS

CARD = "model.json"
MODEL = "model.joblib"
DEFAULT_MODEL_DIR = "/models"  # what the starter's train.py and serve.py use without MODEL_DIR
CARD_MAX_BYTES = 1 << 20  # the card is read; the model only measured (the grader never loads a learner's model)


@dataclass(frozen=True)
class Handoff:
    """What the job left: where (its MODEL_DIR, and the named volume mounted there), and the files in it."""

    folder: str
    volume: str | None  # the volume's name; None when the folder is not a named volume
    files: dict[str, tuple[int, bytes]]  # the model and its card that are there: name → (size, content)
    project: str = ""

    @property
    def volume_in_file(self) -> str:
        """The volume as the compose file names it (Compose prefixes the project's name)."""
        return (self.volume or "").removeprefix(f"{self.project}_")

    @property
    def card(self) -> dict[str, Any] | None:
        size, content = self.files.get(CARD, (0, b""))
        try:
            card = json.loads(content) if size else None
        except ValueError:
            return None
        return card if isinstance(card, dict) else None


def handoff(ctx: GradingContext, job: str) -> Handoff:
    """Read the job's model folder from its (stopped) container. Raises LookupError when it has no container."""
    _, stack = ctx.require_stack()
    if not stack.containers(job):
        raise LookupError(job)
    container = stack.container(job)
    env = config_env(container)
    folder = env.get("MODEL_DIR") or DEFAULT_MODEL_DIR
    mounts: list[dict[str, Any]] = container.get("Mounts") or []
    mount = next((m for m in mounts if m.get("Destination") == folder.rstrip("/")), {})
    named = mount.get("Type") == "volume" and not ANONYMOUS.fullmatch(mount.get("Name") or "")
    files = {name: stack.read_file(job, posixpath.join(folder, name), max_bytes=limit)
             for name, limit in ((MODEL, 0), (CARD, CARD_MAX_BYTES))}
    return Handoff(folder, mount.get("Name") if named else None, {n: f for n, f in files.items() if f}, stack.project)


def model_run_id(job: str) -> Callable[[GradingContext], str | None]:
    """For run_recorded: the MLflow run id on the job's model card, or None when there is no card."""

    def read(ctx: GradingContext) -> str | None:
        try:
            card = handoff(ctx, job).card
        except LookupError:
            return None
        return str(card["run_id"]) if card and card.get("run_id") else None

    return read


def training_completes(points: float, job: str = "train", reader: str = "api", wait_s: float = 120.0,
                       name: str = "training_completes") -> Check:
    """The job exited 0 and left a model and its card in a named volume that `reader` mounts too.

    It judges even a stack that did not come up (it `reports` the start): a job that failed is the most common
    reason, and its exit code and last words are the message. A job still running is waited for, up to `wait_s`."""

    def run(ctx: GradingContext) -> Outcome:
        compose, stack = ctx.require_stack()
        if job not in compose.services:
            return Outcome.failed(f"{compose.path.name} has no service `{job}`.",
                                  f"Add the one-off training job to the file as the service `{job}`.")
        state = stack.wait_stopped(job, wait_s) if stack.containers(job) else {}
        if state.get("Status") in (None, "created"):
            return Outcome.failed(f"`{job}` was never started: what it depends on did not become ready.",
                                  f"Read `docker compose up` and `docker compose ps -a`: `{job}` starts only once what it "
                                  "depends on is healthy.")
        if state.get("Status") != "exited":
            return Outcome.failed(f"`{job}` is {state.get('Status')} after waiting {wait_s:.0f} s: a one-off job must "
                                  "finish, and then stay finished.",
                                  f"Give `{job}` `restart: \"no\"`, and a training run sized for a demo.")
        if state.get("OOMKilled") or state.get("ExitCode") != 0:
            why = "was killed for using more memory than its limit" if state.get("OOMKilled") else \
                f"exited with status {state.get('ExitCode')}"
            return Outcome.failed(f"`{job}` {why}; its output ends: {gist(stack.logs(job, 30))!r}",
                                  f"Read `docker compose logs {job}`: the job says what it missed (the tracking server's "
                                  "address, a folder it may write to).")
        found = handoff(ctx, job)
        missing = [f for f in (MODEL, CARD) if not found.files.get(f, (0, b""))[0]]
        if missing:
            return Outcome.failed(f"`{job}` exited 0, but {found.folder} in its container has no {' or '.join(missing)}.",
                                  "Mount the shared volume where the job writes (MODEL_DIR, /models by default).")
        if found.volume is None:
            return Outcome.failed(f"`{job}` wrote the model to {found.folder}, which is not a named volume: no other "
                                  "service can read it there, and it goes with the container.",
                                  f"Mount a named volume at {found.folder} (volumes: [models:{found.folder}]) and declare "
                                  "it under the top-level `volumes:`.")
        shared = stack.containers(reader) and any(m.get("Name") == found.volume for m in stack.container(reader).get("Mounts") or [])
        if not shared:
            return Outcome.failed(f"`{job}` left the model in the volume `{found.volume_in_file}`, but `{reader}` does not "
                                  "mount it.",
                                  f"Mount the same named volume in `{reader}`, read-only: models:{found.folder}:ro.")
        card = found.card or {}
        accuracy = (card.get("metrics") or {}).get("accuracy")
        about = f" (run {str(card.get('run_id'))[:8]}…, accuracy {accuracy:.3f})" if isinstance(accuracy, float) else ""
        return Outcome.passed(f"`{job}` exited 0 and left {MODEL} ({found.files[MODEL][0] / 1024:.0f} KiB) and {CARD}{about} "
                              f"in the named volume `{found.volume_in_file}`, which `{reader}` mounts too.")

    return Check(name, "Training runs to completion and hands over the model", points, Category.COMPOSE, (Need.STACK,), run,
                 reports="start", tags=("volume",))


def serves_model(points: float, samples: Sequence[Sequence[float]], expect: Sequence[str], job: str = "train",
                 service: str = "api", port: int = 8080, path: str = "/predict", name: str = "api_serves_model") -> Check:
    """`POST path` with `samples` from the host, through the port the service publishes: 200, the expected
    classes (well-separated samples any trained model gets right), and the run id on the job's model card,
    which proves the answer comes from the model training left, not from one built into the image."""

    def run(ctx: GradingContext) -> Outcome:
        try:
            card = handoff(ctx, job).card or {}
        except LookupError:
            card = {}
        # Every sample at least once, some twice, in an order drawn for this run: no fixed answer matches it.
        rng = random.Random()
        order = [*range(len(samples)), *(rng.randrange(len(samples)) for _ in range(rng.randint(1, 3)))]
        rng.shuffle(order)
        wanted = [expect[i] for i in order]
        try:
            response = request_service(ctx, service, port, "POST", path, {"instances": [list(samples[i]) for i in order]})
        except (requests.RequestException, StackCommandFailed) as exc:
            return Outcome.failed(f"Nothing answered `POST {path}` on the port `{service}` publishes for {port}: {exc}.",
                                  f"Publish the port the server listens on: ports: [\"127.0.0.1:{port}:{port}\"] (container "
                                  f"port {port}, where gunicorn binds).")
        if response.status_code != 200:
            return Outcome.failed(f"`POST {path}` answered {response.status_code}: {response.text.strip()[:200]}",
                                  f"Read `docker compose logs {service}`.")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Outcome.failed(f"`POST {path}` answered 200, but not with a JSON object: {response.text.strip()[:200]}",
                                  "Serve the starter's serve.py unchanged.")
        predictions, model = body.get("predictions"), body.get("model") or {}
        if predictions != wanted:
            return Outcome.failed(f"`POST {path}` predicted {predictions} for {len(order)} samples drawn for this check, "
                                  f"whose classes are {wanted}.",
                                  "Serve the model the training job saved, with the starter's serve.py.")
        if not card.get("run_id") or model.get("run_id") != card.get("run_id"):
            return Outcome.failed(f"The API serves the model of run {model.get('run_id')}, but training saved run "
                                  f"{card.get('run_id')} in the shared volume.",
                                  "Mount the volume the training job writes to in the API, and start the API after training.")
        return Outcome.passed(f"`POST {path}` answered 200 with {predictions}, from the model of run "
                              f"{str(card['run_id'])[:8]}…, the one training saved in the shared volume.")

    return Check(name, "The API serves the trained model", points, Category.ENDPOINT, (Need.STACK,), run)

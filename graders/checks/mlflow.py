"""Tracking checks: a notebook can log to MLflow by its service name, and MLflow keeps the run in
PostgreSQL. The grader logs a run through MLflow's REST API from the client's container (as a notebook
would), then finds its metric in the database."""

from __future__ import annotations

import json
from collections.abc import Callable

from graders.check_model import Check, Need, Outcome
from graders.compose_cli import gist
from graders.context import GradingContext
from graders.engine import config_env
from graders.probes import psql
from graders.results import Category

# Run inside the MLflow container (it has Python): create an experiment and a run, log one metric.
LOG_RUN = """
import json, sys, urllib.request
base, name, value = sys.argv[1], sys.argv[2], float(sys.argv[3])
def call(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=20))
exp = call("/api/2.0/mlflow/experiments/create", {"name": name})["experiment_id"]
run = call("/api/2.0/mlflow/runs/create", {"experiment_id": exp})["run"]["info"]["run_id"]
call("/api/2.0/mlflow/runs/log-metric", {"run_id": run, "key": "mastery_probe", "value": value, "timestamp": 0})
print(json.dumps({"run_id": run}))
"""


def runs_in_postgres(points: float, client: str, mlflow: str = "mlflow", db: str = "db", port: int = 5000,
                     name: str = "mlflow_uses_postgres") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        _, stack = ctx.require_stack()
        value = int(ctx.run_id[:6], 16) / 1e7  # a value no other run logs
        env = config_env(stack.container(client))
        url = env.get("MLFLOW_TRACKING_URI") or f"http://{mlflow}:{port}"
        code, out = stack.exec(client, ["python", "-c", LOG_RUN, url, f"mastery-{ctx.run_id}", str(value)])
        if code != 0:
            said = gist(out)
            hint = (f"MLflow refuses Host headers it does not know: start it with --allowed-hosts \"{mlflow}:{port},localhost:*\"."
                    if "403" in said else
                    f"The tracking server must listen on 0.0.0.0:{port} (mlflow server --host 0.0.0.0 --port {port}), and "
                    f"{client} must reach it as {url} (MLFLOW_TRACKING_URI).")
            return Outcome.failed(f"`{client}` could not log a run to MLflow at {url} (exit {code}): {said}", hint)
        run_id = json.loads(out.strip().splitlines()[-1])["run_id"]
        try:
            database = database_with_run(ctx, db, run_id)
        except LookupError as exc:
            return Outcome.failed(str(exc), DB_HINT.format(db=db))
        if database:
            return Outcome.passed(f"A run logged through MLflow ({run_id[:8]}…) is in PostgreSQL, database {database}.")
        return Outcome.failed(f"MLflow accepted a run ({run_id[:8]}…), but it is not in any database of `{db}`: MLflow keeps "
                              "runs somewhere else (its default is a local store inside the container).",
                              backend_hint(db))

    return Check(name, f"{client} logs to MLflow, which keeps runs in PostgreSQL", points, Category.COMPOSE, (Need.STACK,), run,
                 tags=("mlflow",))


def backend_hint(db: str) -> str:
    return (f"Start it with --backend-store-uri postgresql://USER:PASSWORD@{db}:5432/DATABASE, reading the "
            "password from .env.")


DB_HINT = ("The grader reads MLflow's tables with psql in `{db}`, as POSTGRES_USER over the local socket: `{db}` must run "
           "PostgreSQL (the postgres image) and keep POSTGRES_USER the user MLflow connects as.")


def database_with_run(ctx: GradingContext, db: str, run_id: str) -> str | None:
    """The PostgreSQL database (in the `db` service) whose MLflow tables hold a metric of this run; None when
    none does. Raises LookupError when the databases cannot even be listed."""
    _, stack = ctx.require_stack()
    code, listing = stack.exec(db, psql("select datname from pg_database where not datistemplate"))
    if code != 0:
        raise LookupError(f"Could not list the databases in `{db}`: {listing.strip()[-200:]}")
    for database in listing.split():
        code, found = stack.exec(db, psql(f"select value from metrics where run_uuid = '{run_id}'", database))
        if code == 0 and found.strip():
            return database
    return None


# Run inside the MLflow container: one run as MLflow's REST API gives it, or the newest run holding a metric.
GET_RUN = """
import json, sys, urllib.error, urllib.request
base, run_id, metric = sys.argv[1], sys.argv[2], sys.argv[3]
def call(path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data, {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=20))
if not run_id:
    exps = [e["experiment_id"] for e in call("/api/2.0/mlflow/experiments/search", {"max_results": 1000}).get("experiments", [])]
    runs = call("/api/2.0/mlflow/runs/search", {"experiment_ids": exps, "filter": f"metrics.{metric} >= 0",
                                                "order_by": ["attributes.start_time DESC"], "max_results": 1}).get("runs", [])
    if not runs:
        print(json.dumps({"run": None})); sys.exit(0)
    run_id = runs[0]["info"]["run_id"]
try:
    run = call(f"/api/2.0/mlflow/runs/get?run_id={run_id}")["run"]
except urllib.error.HTTPError as exc:
    if exc.code != 404:
        raise
    print(json.dumps({"run": None})); sys.exit(0)
data = run.get("data", {})
print(json.dumps({"run": {"run_id": run["info"]["run_id"], "status": run["info"].get("status"),
                          "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])},
                          "params": {p["key"]: p["value"] for p in data.get("params", [])}}}))
"""


def run_recorded(points: float, metric: str, run_id: Callable[[GradingContext], str | None] | None = None,
                 mlflow: str = "mlflow", db: str = "db", port: int = 5000, name: str = "run_recorded_in_mlflow") -> Check:
    """A run some job logged is in MLflow, with its metric, and MLflow keeps it in PostgreSQL. `run_id` names
    the run the grader expects (e.g. from the model the job saved); without it, the newest run with `metric`.
    The grader asks MLflow's REST API from inside the MLflow container, so this does not depend on a published port."""

    def run(ctx: GradingContext) -> Outcome:
        _, stack = ctx.require_stack()
        wanted = run_id(ctx) if run_id else None
        code, out = stack.exec(mlflow, ["python", "-c", GET_RUN, f"http://127.0.0.1:{port}", wanted or "", metric])
        if code != 0:
            return Outcome.failed(f"The grader could not ask MLflow's REST API inside `{mlflow}` (exit {code}): {gist(out)}",
                                  f"MLflow must listen on port {port} in its container (mlflow server --host 0.0.0.0 "
                                  f"--port {port}).")
        found = json.loads(out.strip().splitlines()[-1])["run"]
        if found is None:
            what = f"the run {wanted}" if wanted else f"any run with the metric `{metric}`"
            return Outcome.failed(f"MLflow in `{mlflow}` does not know {what}: the job recorded it in another tracking "
                                  "store (an MLFLOW_TRACKING_URI that points elsewhere, or none).",
                                  f"Give the job MLFLOW_TRACKING_URI=http://{mlflow}:{port}.")
        if metric not in found["metrics"]:
            return Outcome.failed(f"MLflow has the run {found['run_id'][:8]}…, without the metric `{metric}` "
                                  f"(it has: {', '.join(found['metrics']) or 'no metric'}).",
                                  f"The job logs `{metric}` with mlflow.log_metric(s); read its log for an error.")
        try:
            database = database_with_run(ctx, db, found["run_id"])
        except LookupError as exc:
            return Outcome.failed(str(exc), DB_HINT.format(db=db))
        seen = (f"MLflow has the run {found['run_id'][:8]}… with {metric} {found['metrics'][metric]:.3f}, "
                f"{len(found['metrics'])} metrics and {len(found['params'])} parameters")
        if database is None:
            return Outcome.failed(f"{seen}, but PostgreSQL in `{db}` does not: MLflow keeps its runs somewhere else "
                                  "(without --backend-store-uri, a local store inside its container, lost with it).",
                                  backend_hint(db))
        return Outcome.passed(f"{seen}; it is stored in PostgreSQL, database {database}.")

    return Check(name, "The run is recorded in MLflow, in PostgreSQL", points, Category.COMPOSE, (Need.STACK,), run,
                 tags=("mlflow",))

"""Tracking checks: a notebook can log to MLflow by its service name, and MLflow keeps the run in
PostgreSQL. The grader logs a run through MLflow's REST API from the client's container (as a notebook
would), then finds its metric in the database."""

from __future__ import annotations

import json
import shlex

from graders.context import GradingContext
from graders.results import Category
from graders.spec import Check, Outcome, Phase
from graders.stack import gist

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


def psql(sql: str, database: str | None = None) -> list[str]:
    """A psql command for the official postgres image (or its stand-in): as POSTGRES_USER over the local
    socket, in POSTGRES_DB unless `database` names another, printing bare values."""
    db = shlex.quote(database) if database else '"${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"'
    return ["sh", "-c", f'psql -v ON_ERROR_STOP=1 -U "${{POSTGRES_USER:-postgres}}" -d {db} -tAc {shlex.quote(sql)}']


def runs_in_postgres(points: float, client: str, mlflow: str = "mlflow", db: str = "db", port: int = 5000,
                     name: str = "mlflow_uses_postgres") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        _, stack = ctx.require_stack()
        value = int(ctx.run_id[:6], 16) / 1e7  # a value no other run logs
        env = dict(e.split("=", 1) for e in (stack.container(client).get("Config") or {}).get("Env") or [] if "=" in e)
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
        code, listing = stack.exec(db, psql("select datname from pg_database where not datistemplate"))
        if code != 0:
            return Outcome.failed(f"Could not list the databases in `{db}`: {listing.strip()[-200:]}", "")
        for database in listing.split():
            code, found = stack.exec(db, psql(f"select value from metrics where run_uuid = '{run_id}'", database))
            if code == 0 and found.strip():
                return Outcome.passed(f"A run logged through MLflow ({run_id[:8]}…) is in PostgreSQL, database {database}.")
        return Outcome.failed(f"MLflow accepted a run ({run_id[:8]}…), but it is not in any database of `{db}`: MLflow keeps "
                              "runs somewhere else (its default is a local file store inside the container).",
                              f"Start it with --backend-store-uri postgresql://USER:PASSWORD@{db}:5432/DATABASE, reading the "
                              "password from .env.")

    return Check(name, f"{client} logs to MLflow, which keeps runs in PostgreSQL", points, Category.COMPOSE, Phase.RUNTIME, run,
                 tags=("mlflow",))

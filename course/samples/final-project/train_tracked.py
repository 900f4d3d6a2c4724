"""The project's training job, with a record of each run in MLflow.

    python train_tracked.py readings.csv /models/model.json

It runs train.py unchanged (fit a line per station, save model.json, print a line per station), then measures how
far each station's line lies from its readings (the root mean square error, in °C). When MLFLOW_TRACKING_URI is
set, it records the run there: its parameters and those metrics. The mlflow library makes the same calls; this job
calls MLflow's REST API with the standard library, to keep its image small.
"""

import datetime
import json
import math
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import train
from forecast import read_readings

EXPERIMENT = "station-forecasts"


def rmse_per_station(model: dict, readings: list) -> dict[str, float]:
    """How far each station's line lies from its own readings: the root mean square error, in °C."""
    errors: dict[str, list[float]] = {}
    for station, day, temperature in readings:
        line = model["stations"][station]
        x = (day - datetime.date.fromisoformat(line["first_day"])).days
        errors.setdefault(station, []).append(temperature - (line["intercept"] + line["slope"] * x))
    return {f"rmse_{station}": math.sqrt(sum(e * e for e in es) / len(es)) for station, es in errors.items()}


def mlflow(uri: str, endpoint: str, body: dict | None = None) -> dict:
    """Call MLflow's REST API: a GET when there is no body, a POST with a JSON body otherwise."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{uri}/api/2.0/mlflow/{endpoint}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def log_run(uri: str, params: dict, metrics: dict) -> str:
    try:
        query = urllib.parse.urlencode({"experiment_name": EXPERIMENT})
        experiment_id = mlflow(uri, f"experiments/get-by-name?{query}")["experiment"]["experiment_id"]
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        experiment_id = mlflow(uri, "experiments/create", {"name": EXPERIMENT})["experiment_id"]
    now = int(time.time() * 1000)
    run_id = mlflow(uri, "runs/create", {"experiment_id": experiment_id, "run_name": "train",
                                         "start_time": now})["run"]["info"]["run_id"]
    mlflow(uri, "runs/log-batch", {
        "run_id": run_id,
        "params": [{"key": k, "value": str(v)} for k, v in params.items()],
        "metrics": [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in metrics.items()],
    })
    mlflow(uri, "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)})
    return run_id


def main() -> None:
    source, target = sys.argv[1:3]
    train.main()  # the project's training: model.json is saved, one line printed per station
    with open(target, encoding="utf-8") as f:
        model = json.load(f)
    metrics = rmse_per_station(model, read_readings(source))
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        run_id = log_run(uri, {"readings": source, "rows": model["rows"]}, metrics)
        print(f"logged run {run_id} to {uri}")


if __name__ == "__main__":
    main()

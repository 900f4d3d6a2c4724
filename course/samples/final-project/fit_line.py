"""The training job of the final project's worked example: fit a straight line and save it.

It makes its own data (with a fixed seed), holds out a fifth of it for testing, writes the model to
MODEL_DIR/line.json and exits with status 0, which is what Compose's
`condition: service_completed_successfully` waits for. When MLFLOW_TRACKING_URI is set, it also
records the run (parameters and metrics) in MLflow. The course's pipeline uses the mlflow library
for that; this example calls the same REST API with the standard library, to keep its image small.
"""

import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

MODEL_DIR = Path(os.environ.get("MODEL_DIR", "/models"))
SEED = int(os.environ.get("SEED", "42"))
N_SAMPLES = 200


def make_data() -> list[tuple[float, float]]:
    rng = random.Random(SEED)
    return [(x, 3.0 * x + 2.0 + rng.gauss(0, 1.0)) for x in (rng.uniform(0, 10) for _ in range(N_SAMPLES))]


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in points)
             / sum((x - mean_x) ** 2 for x, _ in points))
    return slope, mean_y - slope * mean_x


def rmse(points: list[tuple[float, float]], slope: float, intercept: float) -> float:
    return (sum((y - (slope * x + intercept)) ** 2 for x, y in points) / len(points)) ** 0.5


def save(model: dict) -> Path:
    """Write the model atomically: the API never sees a half-written file."""
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    tmp = MODEL_DIR / "line.json.tmp"
    tmp.write_text(json.dumps(model), encoding="utf-8")
    return tmp.replace(MODEL_DIR / "line.json")


def mlflow(uri: str, endpoint: str, body: dict | None = None) -> dict:
    """Call MLflow's REST API: a GET when there is no body, a POST with a JSON body otherwise."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{uri}/api/2.0/mlflow/{endpoint}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def log_run(uri: str, params: dict, metrics: dict) -> str:
    name = "line-fit"
    try:
        query = urllib.parse.urlencode({"experiment_name": name})
        experiment_id = mlflow(uri, f"experiments/get-by-name?{query}")["experiment"]["experiment_id"]
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        experiment_id = mlflow(uri, "experiments/create", {"name": name})["experiment_id"]
    now = int(time.time() * 1000)
    run_id = mlflow(uri, "runs/create", {"experiment_id": experiment_id, "run_name": "fit-line",
                                         "start_time": now})["run"]["info"]["run_id"]
    mlflow(uri, "runs/log-batch", {
        "run_id": run_id,
        "params": [{"key": k, "value": str(v)} for k, v in params.items()],
        "metrics": [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in metrics.items()],
    })
    mlflow(uri, "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)})
    return run_id


def main() -> None:
    points = make_data()
    cut = len(points) * 4 // 5
    train, test = points[:cut], points[cut:]
    slope, intercept = fit(train)
    metrics = {"rmse_train": rmse(train, slope, intercept), "rmse_test": rmse(test, slope, intercept)}
    path = save({"slope": slope, "intercept": intercept, "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    print(f"saved {path}: slope={slope:.3f} intercept={intercept:.3f} rmse_test={metrics['rmse_test']:.3f}")
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        run_id = log_run(uri, {"seed": SEED, "n_samples": N_SAMPLES}, metrics)
        print(f"logged run {run_id} to {uri}")


if __name__ == "__main__":
    main()

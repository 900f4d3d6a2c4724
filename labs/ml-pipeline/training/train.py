"""The pipeline's training job: fit an iris classifier, record the run in MLflow, hand the model to the API.

Runs once and exits: 0 when the model is saved and the run recorded, non-zero (with the reason) otherwise,
so that Compose starts the API only after a good run (`condition: service_completed_successfully`).

Settings come from the environment, so compose.yaml decides them and MLflow records them:
  MLFLOW_TRACKING_URI      the tracking server, e.g. http://mlflow:5000 (required)
  MLFLOW_EXPERIMENT_NAME   the experiment the run goes into (default: iris)
  MODEL_DIR                the folder shared with the API, a named volume (default: /models)
  N_ESTIMATORS, MAX_DEPTH  the random forest's size (defaults: 100 trees, depth 3)
  TEST_SIZE, SEED          the held-out share of the data and the random seed (defaults: 0.3, 42)
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

# MLflow tags a run with the Git commit when it can; this image has no git, which is fine: say so quietly.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import joblib  # noqa: E402
import mlflow  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def settings() -> dict:
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        sys.exit("MLFLOW_TRACKING_URI is not set: give the training service the tracking server's address, "
                 "e.g. http://mlflow:5000, in its environment.")
    return {
        "model_dir": Path(os.environ.get("MODEL_DIR", "/models")),
        "experiment": os.environ.get("MLFLOW_EXPERIMENT_NAME", "iris"),
        "params": {
            "n_estimators": int(os.environ.get("N_ESTIMATORS", "100")),
            "max_depth": int(os.environ.get("MAX_DEPTH", "3")),
            "test_size": float(os.environ.get("TEST_SIZE", "0.3")),
            "seed": int(os.environ.get("SEED", "42")),
        },
    }


def check_writable(folder: Path) -> None:
    """Fail before training, not after, when the model cannot be saved."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as exc:
        sys.exit(f"cannot write to {folder} ({exc}): mount the shared volume there, and let the image's user "
                 f"own the folder (create it in the Dockerfile and chown it before USER).")


def save(folder: Path, name: str, write) -> Path:
    """Write to a temporary file, then rename it: the API never sees half a file."""
    final = folder / name
    partial = folder / f".{name}.partial"
    write(partial)
    os.replace(partial, final)
    return final


def main() -> None:
    config = settings()
    folder, params = config["model_dir"], config["params"]
    check_writable(folder)

    iris = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=params["test_size"], random_state=params["seed"], stratify=iris.target)
    model = RandomForestClassifier(n_estimators=params["n_estimators"], max_depth=params["max_depth"],
                                   random_state=params["seed"])

    mlflow.set_experiment(config["experiment"])
    with mlflow.start_run() as run:
        started = time.monotonic()
        model.fit(X_train, y_train)
        predicted = model.predict(X_test)
        metrics = {
            "accuracy": float(accuracy_score(y_test, predicted)),
            "f1_macro": float(f1_score(y_test, predicted, average="macro")),
            "train_seconds": time.monotonic() - started,
        }
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)

        card = {
            "run_id": run.info.run_id,
            "experiment": config["experiment"],
            "tracking_uri": mlflow.get_tracking_uri(),
            "features": FEATURES,
            "classes": [str(name) for name in iris.target_names],
            "params": params,
            "metrics": metrics,
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        # The model first, its card last: a card in the folder means the model beside it is complete.
        save(folder, "model.joblib", lambda path: joblib.dump(model, path))
        save(folder, "model.json", lambda path: path.write_text(json.dumps(card, indent=2)))
        mlflow.log_dict(card, "model.json")

    print(f"run {card['run_id']}: accuracy {metrics['accuracy']:.3f}, f1 {metrics['f1_macro']:.3f}; "
          f"model saved in {folder}", flush=True)


if __name__ == "__main__":
    main()

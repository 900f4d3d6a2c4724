"""A small training job, to practise the everyday Docker commands on: the course project's line, fitted by
gradient descent.

For each station it fits temperature = slope * day + intercept (day 0 is the station's first reading), one
gradient-descent step on the mean squared error per epoch. The day is standardised (mean 0, spread 1) for the
step, so that one learning rate suits every station and a few epochs are enough.

It trains for EPOCHS epochs, prints one log line per epoch, and keeps its state in CHECKPOINT_DIR:
metrics.csv (the loss of each epoch) and checkpoint.json (the last finished epoch, with each station's
slope and intercept). Started again with the same folder, it resumes where it stopped, which is what
makes a volume worth having. At the end it saves model.json there, in the project's format.
Each epoch takes SECONDS_PER_EPOCH at least, so that you have time to watch it.

`docker stop` sends SIGTERM. The job then finishes the epoch it is in, saves, and exits with
status 0, so Docker does not have to kill it after the grace period.
"""

import json
import math
import os
import signal
import statistics
import sys
import threading
from collections import defaultdict
from pathlib import Path

from forecast import line_model, read_readings, save

CHECKPOINT_DIR = Path(os.environ.get("CHECKPOINT_DIR", "/data"))
EPOCHS = int(os.environ.get("EPOCHS", "10"))
SECONDS_PER_EPOCH = float(os.environ.get("SECONDS_PER_EPOCH", "0.5"))
READINGS = Path(__file__).with_name("readings.csv")
LEARNING_RATE = 0.25

stop_requested = threading.Event()


def request_stop(signum: int, _frame: object) -> None:
    print(f"received {signal.Signals(signum).name}: finishing this epoch, then saving", flush=True)
    stop_requested.set()


def load_checkpoint(path: Path) -> tuple[int, dict]:
    """The last finished epoch and each station's line, or 0 and no lines for a fresh start."""
    if not path.exists():
        return 0, {}
    state = json.loads(path.read_text(encoding="utf-8"))
    return int(state["epoch"]), state["stations"]


def save_checkpoint(path: Path, epoch: int, loss: float, lines: dict) -> None:
    # Write a temporary file, then rename it: a job killed halfway never leaves a torn checkpoint.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"epoch": epoch, "loss": loss, "stations": lines}), encoding="utf-8")
    tmp.replace(path)


def by_station(readings: list) -> dict:
    """Each station's days, its day numbers (plain and standardised), and its temperatures."""
    rows = defaultdict(list)
    for station, day, temperature in readings:
        rows[station].append((day, temperature))
    data = {}
    for station, pairs in sorted(rows.items()):
        days = [day for day, _ in pairs]
        x = [(day - min(days)).days for day in days]
        mean, spread = statistics.fmean(x), statistics.pstdev(x)
        data[station] = {"days": days, "x": x, "mean": mean, "spread": spread,
                         "z": [(value - mean) / spread for value in x], "y": [t for _, t in pairs]}
    return data


def step(data: dict, line: dict) -> dict:
    """One gradient-descent step on a station's mean squared error: the line, moved downhill."""
    # The same line on the standardised day z: temperature = a + b * z.
    b = line["slope"] * data["spread"]
    a = line["intercept"] + line["slope"] * data["mean"]
    errors = [a + b * z - y for z, y in zip(data["z"], data["y"], strict=True)]
    a -= LEARNING_RATE * 2 * statistics.fmean(errors)  # the gradient of the mean of errors**2
    b -= LEARNING_RATE * 2 * statistics.fmean(e * z for e, z in zip(errors, data["z"], strict=True))
    slope = b / data["spread"]  # back to °C a day, from day 0
    return {"slope": round(slope, 4), "intercept": round(a - slope * data["mean"], 4)}


def mean_squared_error(data: dict, lines: dict) -> float:
    """The loss: the mean of the squared errors of the lines, over every reading."""
    squared = [(lines[station]["intercept"] + lines[station]["slope"] * x - y) ** 2
               for station, d in data.items() for x, y in zip(d["x"], d["y"], strict=True)]
    return round(statistics.fmean(squared), 4)


def main() -> int:
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    checkpoint = CHECKPOINT_DIR / "checkpoint.json"
    metrics = CHECKPOINT_DIR / "metrics.csv"
    start, lines = load_checkpoint(checkpoint)
    if start >= EPOCHS:
        print(f"nothing to do: the checkpoint in {CHECKPOINT_DIR} is already at epoch {start} of {EPOCHS}")
        return 0
    print(f"{'resuming after epoch ' + str(start) if start else 'starting'}: "
          f"{EPOCHS} epochs, checkpoints in {CHECKPOINT_DIR}")

    if not metrics.exists():
        metrics.write_text("epoch,loss\n", encoding="utf-8")

    readings = read_readings(READINGS)
    data = by_station(readings)
    lines = lines or {station: {"slope": 0.0, "intercept": 0.0} for station in data}
    loss = math.nan
    for epoch in range(start + 1, EPOCHS + 1):
        stop_requested.wait(SECONDS_PER_EPOCH)  # time to watch; returns early when a stop is requested
        lines = {station: step(data[station], lines[station]) for station in data}
        loss = mean_squared_error(data, lines)
        with metrics.open("a", encoding="utf-8") as f:
            f.write(f"{epoch},{loss}\n")
        save_checkpoint(checkpoint, epoch, loss, lines)
        print(f"epoch {epoch}/{EPOCHS} loss={loss}")
        if stop_requested.is_set():
            print(f"stopped early: checkpoint saved at epoch {epoch}")
            return 0

    # The project's model.json, which the course's API serves: the same format as forecast.fit's.
    model = {"rows": len(readings),
             "stations": {station: line_model(station, data[station]["days"], **lines[station]) for station in data}}
    save(model, str(CHECKPOINT_DIR / "model.json"))
    print(f"training finished: {EPOCHS} epochs, final loss={loss}")
    for line in model["stations"].values():
        print(f"{line['station']:8} {line['n']} days, {line['slope']:+.2f} °C a day")
    print(f"saved {CHECKPOINT_DIR / 'model.json'}: {model['rows']} readings from {len(model['stations'])} stations")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A stand-in for a training job, to practise the everyday Docker commands on.

It "trains" for EPOCHS epochs, prints one log line per epoch, and keeps its state in CHECKPOINT_DIR:
metrics.csv (one row per epoch) and checkpoint.json (the last finished epoch). Started again with
the same folder, it resumes where it stopped, which is what makes a volume worth having.

`docker stop` sends SIGTERM. The job then finishes the epoch it is in, saves, and exits with
status 0, so Docker does not have to kill it after the grace period.
"""

import json
import math
import os
import random
import signal
import sys
import threading
from pathlib import Path

CHECKPOINT_DIR = Path(os.environ.get("CHECKPOINT_DIR", "/data"))
EPOCHS = int(os.environ.get("EPOCHS", "5"))
SECONDS_PER_EPOCH = float(os.environ.get("SECONDS_PER_EPOCH", "0.5"))

stop_requested = threading.Event()


def request_stop(signum: int, _frame: object) -> None:
    print(f"received {signal.Signals(signum).name}: finishing this epoch, then saving", flush=True)
    stop_requested.set()


def load_checkpoint(path: Path) -> int:
    """The last finished epoch, or 0 for a fresh start."""
    if not path.exists():
        return 0
    return int(json.loads(path.read_text(encoding="utf-8"))["epoch"])


def save_checkpoint(path: Path, epoch: int, loss: float) -> None:
    # Write a temporary file, then rename it: a job killed halfway never leaves a torn checkpoint.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"epoch": epoch, "loss": loss}), encoding="utf-8")
    tmp.replace(path)


def main() -> int:
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    checkpoint = CHECKPOINT_DIR / "checkpoint.json"
    metrics = CHECKPOINT_DIR / "metrics.csv"
    start = load_checkpoint(checkpoint)
    if start >= EPOCHS:
        print(f"nothing to do: the checkpoint in {CHECKPOINT_DIR} is already at epoch {start} of {EPOCHS}")
        return 0
    print(f"{'resuming after epoch ' + str(start) if start else 'starting'}: "
          f"{EPOCHS} epochs, checkpoints in {CHECKPOINT_DIR}")

    if not metrics.exists():
        metrics.write_text("epoch,loss\n", encoding="utf-8")

    rng = random.Random(42)
    loss = math.nan
    for epoch in range(start + 1, EPOCHS + 1):
        stop_requested.wait(SECONDS_PER_EPOCH)  # the "work"; returns early when a stop is requested
        loss = round(1.0 / epoch + rng.uniform(0.0, 0.05), 4)
        with metrics.open("a", encoding="utf-8") as f:
            f.write(f"{epoch},{loss}\n")
        save_checkpoint(checkpoint, epoch, loss)
        print(f"epoch {epoch}/{EPOCHS} loss={loss}")
        if stop_requested.is_set():
            print(f"stopped early: checkpoint saved at epoch {epoch}")
            return 0

    print(f"training finished: {EPOCHS} epochs, final loss={loss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A training loop that stops cleanly when Docker stops its container.

`docker stop` sends SIGTERM (or the image's STOPSIGNAL), waits 10 seconds, then sends SIGKILL. This loop
catches SIGTERM (and SIGINT, Ctrl+C), finishes the step it is in, writes a checkpoint and exits 0, long
before the SIGKILL. Started again with the same CHECKPOINT_DIR, it resumes where it stopped.

The "training" is a short sleep per step, so the script needs nothing but Python. Environment:
CHECKPOINT_DIR, the folder for checkpoint.json (default /tmp/ckpt; mount a volume there to keep it).
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

EPOCHS = 50
STEPS_PER_EPOCH = 5
STEP_SECONDS = 0.2

stop_requested = False


def request_stop(signum, frame):
    """Only note the request: the loop stops at the end of the current step, where the state is consistent."""
    global stop_requested
    stop_requested = True


def load(folder: Path) -> tuple[int, int]:
    """The (epoch, step) to start from: the saved one, or the beginning."""
    try:
        saved = json.loads((folder / "checkpoint.json").read_text())
    except FileNotFoundError:
        return 1, 0
    return saved["epoch"], saved["step"]


def save(folder: Path, epoch: int, step: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "checkpoint.json.partial"
    partial.write_text(json.dumps({"epoch": epoch, "step": step}))
    partial.replace(folder / "checkpoint.json")  # a rename: a half-written file never replaces a good checkpoint


def main() -> int:
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    folder = Path(os.environ.get("CHECKPOINT_DIR", "/tmp/ckpt"))
    epoch, step = load(folder)
    if (epoch, step) != (1, 0):
        print(f"resuming at epoch {epoch}, step {step}", flush=True)
    while epoch <= EPOCHS:
        while step < STEPS_PER_EPOCH:
            time.sleep(STEP_SECONDS)  # one training step
            step += 1
            if stop_requested:
                save(folder, epoch, step)
                print(f"checkpoint saved at epoch {epoch}, step {step}", flush=True)
                return 0
        print(f"epoch {epoch} done", flush=True)
        epoch, step = epoch + 1, 0
    save(folder, epoch, step)
    print("training finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

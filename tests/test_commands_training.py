"""The training job of commands.md's worked example (course/samples/commands/train.py), run here as the page runs
it in a container: what it prints, keeps and saves is what the page quotes.

- A 30-epoch run, stopped with SIGTERM during epoch 7: its log, its checkpoint after epoch 6, the head of
  metrics.csv, and the clean stop (status 0, checkpoint saved at epoch 7).
- The same folder, resumed to epoch 10: the lines the page quotes, the slopes forecast.fit finds (step 2 of the
  course project), and a model.json in the project's format.
- Left to run 30 epochs, the loss ends at the least-squares lines' own mean squared error.

No engine: the image only adds Python 3.13 and a user, and samples.toml's run_expect holds the image's own
last lines (its defaults are the resumed run's 10 epochs).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from project_core import forecast_module

from graders.spec import REPO_ROOT

SAMPLE = REPO_ROOT / "course" / "samples" / "commands"
PAGE = (REPO_ROOT / "course" / "commands.md").read_text(encoding="utf-8")


def environment(folder: Path, **settings: str) -> dict[str, str]:
    return {**os.environ, "CHECKPOINT_DIR": str(folder), "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1", **settings}


def train(folder: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "train.py"], cwd=SAMPLE, env=environment(folder, **settings),
                          capture_output=True, text=True, timeout=60, check=False)


def quoted(lines: list[str]) -> bool:
    """Whether the page shows these lines one after another (at any indentation)."""
    flat = "\n".join(line.strip() for line in PAGE.splitlines())
    return "\n".join(lines) in flat


def stopped_after_epoch_7(folder: Path) -> tuple[list[str], dict, int]:
    """The page's long run: 30 epochs, `docker stop` (SIGTERM) while epoch 7 runs. Its log, the checkpoint that
    `docker exec` reads after epoch 6, and its exit status."""
    job = subprocess.Popen([sys.executable, "train.py"], cwd=SAMPLE, stdout=subprocess.PIPE, text=True,
                           env=environment(folder, EPOCHS="30", SECONDS_PER_EPOCH="0.5"))
    log, checkpoint = [], {}
    try:
        assert job.stdout
        for line in job.stdout:
            log.append(line.rstrip("\n").replace(str(folder), "/data"))  # as in the container
            if line.startswith("epoch 6/30 "):
                checkpoint = json.loads((folder / "checkpoint.json").read_text(encoding="utf-8"))
                time.sleep(0.1)  # well inside epoch 7's half second
                job.send_signal(signal.SIGTERM)
        return log, checkpoint, job.wait(timeout=30)
    finally:
        job.kill()


def test_the_stopped_run_and_its_resumption_print_what_the_page_quotes(tmp_path: Path) -> None:
    log, checkpoint, status = stopped_after_epoch_7(tmp_path)
    assert status == 0, log
    assert log[0] == "starting: 30 epochs, checkpoints in /data" and quoted(log[:4]), log
    assert quoted(log[2:6]) and quoted(log[-3:]), log
    assert log[-3:] == ["received SIGTERM: finishing this epoch, then saving", "epoch 7/30 loss=0.8298",
                        "stopped early: checkpoint saved at epoch 7"], log
    assert checkpoint["epoch"] == 6 and json.dumps(checkpoint) in PAGE, checkpoint
    metrics = (tmp_path / "metrics.csv").read_text(encoding="utf-8").splitlines()
    assert len(metrics) == 8 and quoted(["$ head -3 metrics.csv", *metrics[:3]]), metrics

    resumed = train(tmp_path, EPOCHS="10", SECONDS_PER_EPOCH="0")
    assert resumed.returncode == 0, resumed.stderr
    lines = resumed.stdout.replace(str(tmp_path), "/data").splitlines()
    assert lines[0] == "resuming after epoch 7: 10 epochs, checkpoints in /data"
    assert quoted(lines) and len(lines) == 9, lines
    toml = (SAMPLE / "samples.toml").read_text(encoding="utf-8")
    assert "\n".join(lines[4:]) in toml, "samples.toml's run_expect must be the resumed run's last lines"

    # The slopes the page calls forecast.fit's are, to the two decimals printed.
    forecast = forecast_module()
    fitted = forecast.fit(forecast.read_readings(str(SAMPLE / "readings.csv")))
    assert lines[5:8] == [f"{s['station']:8} {s['n']} days, {s['slope']:+.2f} °C a day"
                          for s in fitted["stations"].values()]
    # model.json is the project's format: the same keys, days and counts as forecast.fit's, slopes close to its.
    model = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert model["rows"] == fitted["rows"] == 90 and model["stations"].keys() == fitted["stations"].keys()
    for name, line in model["stations"].items():
        best = fitted["stations"][name]
        assert {k: v for k, v in line.items() if k not in {"slope", "intercept"}} == \
               {k: v for k, v in best.items() if k not in {"slope", "intercept"}}
        assert abs(line["slope"] - best["slope"]) < 0.001 and abs(line["intercept"] - best["intercept"]) < 0.02
    assert not (tmp_path / "model.json.tmp").exists() and not (tmp_path / "checkpoint.tmp").exists()

    again = train(tmp_path, EPOCHS="10", SECONDS_PER_EPOCH="0")
    assert again.stdout.startswith("nothing to do: the checkpoint in"), again.stdout


def test_left_to_run_30_epochs_the_loss_is_the_least_squares_lines_own(tmp_path: Path) -> None:
    run = train(tmp_path, EPOCHS="30", SECONDS_PER_EPOCH="0")
    assert run.returncode == 0, run.stderr
    final = re.search(r"^training finished: 30 epochs, final loss=(\S+)$", run.stdout, re.M)
    assert final and final.group(1) == "0.8219", run.stdout
    forecast = forecast_module()
    readings = forecast.read_readings(str(SAMPLE / "readings.csv"))
    lines = forecast.fit(readings)["stations"]
    first = {name: datetime.date.fromisoformat(line["first_day"]) for name, line in lines.items()}
    squared = [(t - lines[s]["intercept"] - lines[s]["slope"] * (day - first[s]).days) ** 2 for s, day, t in readings]
    assert round(statistics.fmean(squared), 4) == 0.8219
    assert "it ends at 0.8219" in PAGE and "about 0.82" in PAGE

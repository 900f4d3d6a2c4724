"""Steps 3 and 4 of the course project (course/project.md) as their pages tell them.

- "Training on a GPU" (course/workflows/gpu-training.md): train.py's gradient descent writes the same model.json as
  the project's least-squares forecast.fit, and prints the lines the page quotes (samples.toml `run_expect`). Runs
  here, without the engine: without PyTorch the script takes its plain-Python path, as in the stand-in image.
- "Jupyter in a container" (course/workflows/jupyter.md): explore.py, run with `%run` in a notebook cell of the
  lesson's image, prints what the page quotes and shows its plot below the cell (engine-marked: builds the image).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from project_core import forecast_module

from graders.spec import REPO_ROOT

SAMPLES = REPO_ROOT / "course" / "samples"
GPU = SAMPLES / "gpu-training"
JUPYTER = SAMPLES / "jupyter"
PROJECT = SAMPLES / "project"
SAMPLE_LABEL = "io.mastery.sample"


def test_gradient_descent_writes_the_least_squares_model(tmp_path: Path) -> None:
    target = tmp_path / "model.json"
    proc = subprocess.run([sys.executable, "train.py", "readings.csv", str(target)], cwd=GPU,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    forecast = forecast_module()
    assert json.loads(target.read_text(encoding="utf-8")) == forecast.fit(forecast.read_readings(PROJECT / "readings.csv"))
    # The page's lines after the first (which names the device) are what this run prints too.
    expected = tomllib.loads((GPU / "samples.toml").read_text())["Dockerfile"]["run_expect"]
    shown = expected.split("\n", 1)[1].replace("saved runs/model.json", f"saved {target}")
    assert shown in proc.stdout, proc.stdout


# Run in the lesson's image: a notebook with one cell, executed by the image's own kernel (nbclient comes with
# JupyterLab's nbconvert). The outputs of the cell, as JSON, on the last line.
NOTEBOOK_RUN = """
import json, nbclient, nbformat
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%run /project/explore.py")])
nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
print(json.dumps(nb.cells[0].outputs))
"""


@pytest.mark.engine
@pytest.mark.slow
def test_explore_runs_in_a_notebook_cell_and_shows_its_plot() -> None:
    from graders.build import build_image
    from graders.dockerfile_model import parse_dockerfile
    from graders.engine import client

    dockerfile = JUPYTER / "Dockerfile"
    tag = "mastery-sample/jupyter:notebook-cell"
    build_image(JUPYTER, dockerfile, tag, {SAMPLE_LABEL: "1"}, timeout_s=900,
                buildkit=parse_dockerfile(dockerfile).needs_buildkit)
    try:
        made = client().containers.create(tag, ["python", "-c", NOTEBOOK_RUN], labels={SAMPLE_LABEL: "1"}, mem_limit="1g")
        try:
            made.start()
            status = made.wait(timeout=300)
            out = made.logs(stdout=True, stderr=False).decode(errors="replace")
            assert status["StatusCode"] == 0, made.logs().decode(errors="replace")
        finally:
            with contextlib.suppress(Exception):
                made.remove(force=True)
    finally:
        with contextlib.suppress(Exception):
            client().images.remove(tag, noprune=True)
    outputs = json.loads(out.strip().splitlines()[-1])
    printed = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")
    expected = tomllib.loads((JUPYTER / "samples.toml").read_text())["explore.Dockerfile"]["run_expect"]
    assert expected in printed, printed
    assert any("image/png" in o.get("data", {}) for o in outputs if o["output_type"] == "display_data"), \
        "the plot does not show below the cell"

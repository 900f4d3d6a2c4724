"""What first-image.md quotes from its worked example, checked on the engine: the station summary of the course
project's readings.csv, mounted read-only into the container (`-v "$PWD:/data:ro"`), prints the table the page shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from graders import engine
from graders.build import build_image
from graders.spec import REPO_ROOT

pytestmark = [pytest.mark.engine, pytest.mark.slow]

FOLDER = REPO_ROOT / "course" / "samples" / "first-image"
PAGE = (REPO_ROOT / "course" / "first-image.md").read_text(encoding="utf-8")
SUMMARY = """\
90 readings from 3 stations
station      n    mean    min    max
---------  ---  ------  -----  -----
harbour     30   12.77  10.50  16.00
hill        30    9.29   5.90  13.10
valley      30   11.26   8.10  14.60
"""


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The docker CLI on the engine the tests grade on."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **engine.address().env()})


def test_the_summary_of_the_projects_readings_through_a_read_only_bind_mount() -> None:
    assert SUMMARY in PAGE
    tag = f"mastery-sample/first-image:readings-{uuid.uuid4().hex[:8]}"
    build_image(FOLDER, FOLDER / "Dockerfile", tag, {"io.mastery.sample": "1"}, timeout_s=600)
    # A folder the engine sees as this machine does (the course engine shares one), holding the project's readings.
    folder = Path(tempfile.mkdtemp(prefix="mastery-sample-first-image-", dir=engine.scratch_dir()))
    try:
        shutil.copy(FOLDER / "readings.csv", folder / "readings.csv")
        folder.chmod(0o755)
        (folder / "readings.csv").chmod(0o644)
        ran = docker("run", "--rm", "--label", "io.mastery.sample=1", "-v", f"{folder}:/data:ro", tag,
                     "python", "summarize.py", "/data/readings.csv")
        assert ran.returncode == 0 and ran.stdout == SUMMARY, ran.stdout + ran.stderr
        # Even root in the container cannot change the readings: the mount is read-only.
        changed = docker("run", "--rm", "--label", "io.mastery.sample=1", "--user", "0", "-v", f"{folder}:/data:ro",
                         tag, "touch", "/data/readings.csv")
        assert changed.returncode != 0 and "Read-only file system" in changed.stderr, changed.stdout + changed.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        docker("image", "rm", tag)

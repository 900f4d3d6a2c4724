"""What storage.md says the engine does, checked on the engine.

- The worked example runs as the page shows: the files go into a volume through a container's standard input
  (or `docker cp` into a container never started), the job runs on a read-only root filesystem, prints the
  slopes it fitted and saves the course project's model.json, the very model forecast.fit makes (step 6 of the
  project), and `docker inspect` shows the read-only root and the three mounts.
- The practice's first Predict: of /data (read-only volume), /models (volume), /scratch (tmpfs) and /tmp (the
  read-only root), only the two writable mounts take a file, with `touch`'s own message for the others; and
  Python's `[Errno 30] Read-only file system` that the common mistake quotes.
- The practice's second Predict: a memory-backed volume of the `local` driver is empty in the next container
  (unmounted when the last one stops), but shared while one still uses it; `docker volume inspect` shows its
  driver, options and mount point, and creating it again with other options keeps the old ones.
- A tmpfs mount: `size=64m` and `tmpfs-size=67108864` are the same 64 MiB, `tmpfs-mode=1770` sets its mode,
  a write past the size gives `[Errno 28] No space left on device`, and TMPDIR points Python's `tempfile` at it.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from project_core import fitted_model

from graders import engine
from graders.spec import REPO_ROOT

pytestmark = pytest.mark.engine
SAMPLE_LABEL = "io.mastery.sample=1"
SAMPLES = REPO_ROOT / "course" / "samples" / "storage"
IMAGE = "python:3.13-slim"
TMPFS_OPTS = ("--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=32m")


def docker(*args: str, stdin: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The docker CLI on the engine the tests grade on."""
    with open(stdin, encoding="utf-8") if stdin else open(os.devnull, encoding="utf-8") as source:
        return subprocess.run(["docker", *args], stdin=source, capture_output=True, text=True, timeout=timeout,
                              check=False, env={**os.environ, **engine.address().env()})


_NAMED: list[str] = []  # the containers this process's current test named (tests in one process run in turn)


def unique(prefix: str) -> str:
    name = f"mastery-sto-{prefix}-{uuid.uuid4().hex[:8]}"
    _NAMED.append(name)
    return name


@pytest.fixture
def volume() -> Iterator[Callable[..., str]]:
    """Makes labelled volumes (with the options given) and removes them, and the test's containers, at the end.
    Only this test's own: other workers run the other tests of this file at the same time."""
    made: list[str] = []
    _NAMED.clear()

    def make(*options: str, name: str | None = None) -> str:
        name = name or unique("vol")
        created = docker("volume", "create", "--label", SAMPLE_LABEL, *options, name)
        assert created.returncode == 0, created.stderr
        made.append(name)
        return name

    yield make
    for container in _NAMED:
        docker("rm", "-f", container)
    for name in made:
        docker("volume", "rm", "-f", name)


def run(*args: str, stdin: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`docker run --rm` of the course's Python image, labelled."""
    return docker("run", "--rm", "--label", SAMPLE_LABEL, *(["-i"] if stdin else []), *args, stdin=stdin)


def test_the_worked_example_runs_as_the_page_shows(volume: Callable[..., str]) -> None:
    data, models, job = volume(), volume(), unique("fit")
    for name in ("readings.csv", "forecast.py", "fit.py"):
        copied = run("-v", f"{data}:/data", IMAGE, "sh", "-c", f"cat > /data/{name}", stdin=SAMPLES / name)
        assert copied.returncode == 0, copied.stderr
    fit = docker("run", "--name", job, "--label", SAMPLE_LABEL, "--read-only",
                 "--mount", f"type=volume,source={data},target=/data,readonly",
                 "--mount", f"type=volume,source={models},target=/models",
                 "--mount", "type=tmpfs,destination=/scratch,tmpfs-size=67108864",
                 IMAGE, "python", "/data/fit.py")
    assert fit.returncode == 0, fit.stderr
    assert fit.stderr == "", fit.stderr  # no word about the __pycache__ that /data, read-only, cannot take
    assert fit.stdout.split("\n") == ["harbour  30 days, +0.13 °C a day", "hill     30 days, +0.22 °C a day",
                                      "valley   30 days, +0.21 °C a day",
                                      "saved /models/model.json: 90 readings from 3 stations", ""], fit.stdout
    model = run("-v", f"{models}:/models:ro", IMAGE, "ls", "/models")
    assert model.stdout.split() == ["model.json"], model.stdout  # the temporary name was renamed
    model = run("-v", f"{models}:/models:ro", IMAGE, "cat", "/models/model.json")
    assert json.loads(model.stdout) == fitted_model()
    assert docker("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", job).stdout.strip() == "true"
    mounts = docker("inspect", "--format", '{{range .Mounts}}{{.Type}} {{.Destination}} rw={{.RW}}{{"\\n"}}{{end}}', job)
    assert set(mounts.stdout.split("\n")) - {""} == {"volume /data rw=false", "volume /models rw=true",
                                                   "tmpfs /scratch rw=true"}, mounts.stdout
    info = docker("volume", "inspect", "--format", "{{.Mountpoint}}", data)
    assert info.stdout.strip().endswith(f"/volumes/{data}/_data"), info.stdout


def test_docker_cp_copies_into_a_volume_through_a_container_never_started(volume: Callable[..., str]) -> None:
    data, loader = volume(), unique("loader")
    assert docker("container", "create", "--name", loader, "--label", SAMPLE_LABEL, "-v", f"{data}:/data",
                  IMAGE).returncode == 0
    copied = docker("cp", str(SAMPLES / "readings.csv"), f"{loader}:/data/")
    assert copied.returncode == 0, copied.stderr
    assert docker("rm", loader).returncode == 0
    seen = run("-v", f"{data}:/data:ro", IMAGE, "cat", "/data/readings.csv")
    assert seen.stdout == (SAMPLES / "readings.csv").read_text(encoding="utf-8")


def test_a_read_only_job_writes_only_to_its_mounts(volume: Callable[..., str]) -> None:
    data, models = volume(), volume()
    probe = run("--read-only", "-v", f"{data}:/data:ro", "-v", f"{models}:/models", "--tmpfs", "/scratch:size=64m",
                IMAGE, "sh", "-c", 'for d in /data /models /scratch /tmp; do touch "$d/probe" && echo "$d ok"; done')
    assert probe.stdout.split("\n")[:2] == ["/models ok", "/scratch ok"], probe.stdout
    assert probe.stderr.split("\n")[:2] == ["touch: cannot touch '/data/probe': Read-only file system",
                                            "touch: cannot touch '/tmp/probe': Read-only file system"], probe.stderr
    python = run("--read-only", "-v", f"{data}:/data:ro", IMAGE, "python", "-c", "open('/data/notes.txt', 'w')")
    assert python.returncode != 0
    assert "OSError: [Errno 30] Read-only file system: '/data/notes.txt'" in python.stderr, python.stderr


def test_a_memory_backed_volume_is_empty_for_the_next_container(volume: Callable[..., str]) -> None:
    cache = volume(*TMPFS_OPTS)
    described = docker("volume", "inspect", "--format", "{{.Driver}} {{json .Options}} {{.Mountpoint}}", cache)
    driver, options, mountpoint = described.stdout.split()
    assert driver == "local" and json.loads(options) == {"type": "tmpfs", "device": "tmpfs", "o": "size=32m"}
    assert mountpoint.endswith(f"/volumes/{cache}/_data")
    assert run("-v", f"{cache}:/cache", IMAGE, "sh", "-c", "echo hello > /cache/note.txt").returncode == 0
    listed = run("-v", f"{cache}:/cache", IMAGE, "ls", "/cache")
    assert listed.returncode == 0 and listed.stdout == "", listed.stdout
    # While one container still uses it, the others share the same tmpfs.
    holder = unique("holder")
    assert docker("run", "-d", "--name", holder, "--label", SAMPLE_LABEL, "-v", f"{cache}:/cache",
                  IMAGE, "sleep", "120").returncode == 0
    assert run("-v", f"{cache}:/cache", IMAGE, "sh", "-c", "echo hello > /cache/note.txt").returncode == 0
    assert run("-v", f"{cache}:/cache", IMAGE, "ls", "/cache").stdout.split() == ["note.txt"]
    docker("rm", "-f", holder)
    # Creating it again with other options keeps the options it has.
    again = docker("volume", "create", "--label", SAMPLE_LABEL, *TMPFS_OPTS[:-1], "o=size=256m", cache)
    assert again.returncode == 0, again.stderr
    kept = docker("volume", "inspect", "--format", "{{json .Options}}", cache)
    assert json.loads(kept.stdout)["o"] == "size=32m", kept.stdout


def test_a_tmpfs_mount_has_the_size_and_mode_asked_for_and_fills_up() -> None:
    measure = ("import os, stat; s = os.statvfs('/scratch'); "
               "print(s.f_blocks * s.f_frsize, oct(stat.S_IMODE(os.stat('/scratch').st_mode)))")
    short = run("--tmpfs", "/scratch:size=64m", IMAGE, "python", "-c", measure)
    long = run("--mount", "type=tmpfs,destination=/scratch,tmpfs-size=67108864,tmpfs-mode=1770",
               IMAGE, "python", "-c", measure)
    assert short.stdout.split()[0] == long.stdout.split()[0] == "67108864", (short.stdout, long.stdout)
    assert long.stdout.split()[1] == "0o1770", long.stdout
    full = run("--tmpfs", "/scratch:size=64m", IMAGE, "python", "-c",
               "open('/scratch/big', 'wb').write(b'0' * 70_000_000)")
    assert full.returncode != 0 and "OSError: [Errno 28] No space left on device" in full.stderr, full.stderr


def test_tmpdir_points_pythons_tempfile_at_a_writable_mount() -> None:
    found = run("--read-only", "--tmpfs", "/scratch:size=64m", "-e", "TMPDIR=/scratch", IMAGE,
                "python", "-c", "import tempfile; print(tempfile.gettempdir())")
    assert found.returncode == 0 and found.stdout.strip() == "/scratch", found.stdout + found.stderr

"""What an instructor waits for: a synthetic cohort graded with `mastery grade` at several settings, against the
raw commands a person would type for the same submissions, one after another.

The cohort (default 24 learners) is spread over two Dockerfile labs (ml-api, a service; first-image, a batch job)
and one compose lab (secure-runtime). Learner i of a lab hands in the lab's solution, one of its alternative
solutions or one of its broken variants, in turn, so the cohort has both passing and failing work.

Settings, each with a fresh results folder: `-j 1`, `-j 2` and `-j 4` on one engine, and two engines at one job
each (the same total as `-j 2`; on one machine the engines share the cores, so this measures the pool's
overhead, not scaling across hosts). The second engine is, unless `--second-engine` names another, a spare
course engine started for the run (graders/course_engine/spare.py): the same Engine, builder and limits as the
first, seeded with the same base images and warmed the same way, and removed at the end. Then the `-j 2`
cohort again, unchanged, into the same folder: every result is reused. The raw baseline, per submission:
`docker build`, `docker run`, then poll `/health` and ask it once (a service) or wait for it to exit (a batch
job), `docker rm -f` and `docker rmi`; for a compose lab, `docker compose up --build --wait` and
`docker compose down --volumes`. Everything is warm: one untimed pass
of the baseline and of `mastery grade -j 2` on each engine fills the build caches first.

Printed: submissions per minute at each setting, the ratio of that to the baseline's, the peak memory in use on
this machine during the setting (MemTotal - MemAvailable, sampled every 0.5 s), and the re-run's time against
the first `-j 2` run's.

    .venv/bin/python benchmarks/cohort.py [--learners 24] [--engine course] [--second-engine spare|ENGINE]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_latency import pin_engine

from graders import engine
from graders.course_engine.spare import spare_engine
from graders.engine_address import resolve
from graders.labs import get_lab
from graders.spec import LabSpec
from graders.submission import materialize, variants

LABS = ("ml-api", "first-image", "secure-runtime")
RAW_TAG = "mastery-bench/cohort:latest"
SPARE = "spare"  # --second-engine's default: a spare course engine, started for the run
SPARE_NAME = "mastery-bench-twin"
PROJECT = "mastery-bench-cohort"


def make_cohort(root: Path, learners: int) -> dict[str, Path]:
    """One folder per lab holding one sub-folder per learner; learners are dealt to the labs in turn."""
    folders = {}
    for index, lab in enumerate(LABS):
        spec = get_lab(lab)
        kinds = [None, *variants(spec, "alternatives"), *variants(spec, "broken")]
        folder = root / lab
        for n in range(index, learners, len(LABS)):
            variant = kinds[(n // len(LABS)) % len(kinds)]
            materialize(spec, variant, into=folder / f"learner-{n:03d}")
        folders[lab] = folder
    return folders


def sh(*argv: str, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def raw_dockerfile(spec: LabSpec, folder: Path) -> None:
    """What a person types to see one submission work; a failing step ends it, as it would for them."""
    if sh("docker", "build", "-q", "-t", RAW_TAG, str(folder)).returncode != 0:
        return
    where = engine.site()
    publish = ["-p", f"{where.publish_on}::{spec.port}"] if spec.port else []
    cid = sh("docker", "run", "-d", *publish, RAW_TAG).stdout.strip()
    try:
        if not cid:
            return
        if spec.port is None:
            sh("docker", "wait", cid, timeout=spec.limits.run_timeout_s)
            return
        port = sh("docker", "port", cid, f"{spec.port}/tcp").stdout.splitlines()[0].rsplit(":", 1)[1]
        deadline = time.monotonic() + spec.limits.health_budget_s
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://{where.published_host}:{port}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if sh("docker", "inspect", "--format", "{{.State.Running}}", cid).stdout.strip() != "true":
                return
            time.sleep(0.1)
    finally:
        if cid:
            sh("docker", "rm", "-f", cid)
        sh("docker", "rmi", "-f", RAW_TAG)


def raw_compose(folder: Path) -> None:
    try:
        sh("docker", "compose", "-p", PROJECT, "up", "--build", "--wait", "--wait-timeout", "120", cwd=folder)
    finally:
        sh("docker", "compose", "-p", PROJECT, "down", "--volumes", "--remove-orphans", cwd=folder)


def raw_baseline(folders: dict[str, Path]) -> None:
    for lab, folder in folders.items():
        spec = get_lab(lab)
        for learner in sorted(folder.iterdir()):
            raw_compose(learner) if spec.kind == "compose" else raw_dockerfile(spec, learner)


def grade_all(folders: dict[str, Path], out: Path, jobs: int, engines: list[str]) -> None:
    mastery = Path(sys.executable).parent / "mastery"
    for lab, folder in folders.items():
        flags = [arg for name in engines for arg in ("--engine", name)]
        proc = sh(str(mastery), "grade", lab, str(folder), "-j", str(jobs), "--out", str(out / lab), *flags, timeout=7200)
        if proc.returncode not in (0, 1):  # 1: some learner did not pass, as intended
            raise RuntimeError(f"mastery grade {lab} failed ({proc.returncode}):\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")


def _grading(folders: dict[str, Path], out: Path, jobs: int, engines: list[str]) -> Callable[[], None]:
    return lambda: grade_all(folders, out, jobs, engines)


@dataclass
class Row:
    setting: str
    seconds: float
    peak_gib: float


def _used_bytes() -> int:
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = int(value.split()[0]) * 1024
    return fields["MemTotal"] - fields["MemAvailable"]


@contextmanager
def measured(setting: str, rows: list[Row]) -> Iterator[None]:
    peak, stop = [_used_bytes()], threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            peak[0] = max(peak[0], _used_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        rows.append(Row(setting, seconds, peak[0] / 2**30))
        print(f"  {setting}: {seconds:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=24)
    parser.add_argument("--engine", default="course", help="the engine of the one-engine settings (default: course)")
    parser.add_argument("--second-engine", default=SPARE,
                        help="the other engine of the two-engine setting (default: a spare course engine)")
    args = parser.parse_args()
    print(pin_engine(args.engine))
    first = os.environ["MASTERY_ENGINE"]
    root = Path(tempfile.mkdtemp(prefix="mastery-bench-cohort-", dir=engine.scratch_dir()))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        if args.second_engine == SPARE:
            print(f"starting a spare course engine ({SPARE_NAME}) for the two-engine setting", flush=True)
            bases = sorted({image for lab in LABS for image in get_lab(lab).base_images})
            second = stack.enter_context(spare_engine(SPARE_NAME, bases)).address.url
        else:
            second = resolve(args.second_engine, {k: v for k, v in os.environ.items() if k != "MASTERY_ENGINE"}).url
        folders = make_cohort(root / "cohort", args.learners)
        print(f"{args.learners} learners: " + ", ".join(f"{lab} {len(list(f.iterdir()))}" for lab, f in folders.items()))
        print("warming the build caches (untimed)", flush=True)
        raw_baseline(folders)
        grade_all(folders, root / "warm", 2, [first])
        grade_all(folders, root / "warm-second", 2, [second])
        rows: list[Row] = []
        settings: list[tuple[str, Callable[[], None]]] = [
            ("raw, in sequence", lambda: raw_baseline(folders)),
            *[(f"-j {j}, one engine", _grading(folders, root / f"j{j}", j, [first])) for j in (1, 2, 4)],
            ("-j 1, two engines", _grading(folders, root / "two", 1, [first, second])),
            ("-j 2 again, unchanged", _grading(folders, root / "j2", 2, [first])),
        ]
        for setting, run in settings:
            with measured(setting, rows):
                run()
        base = rows[0].seconds
        print(f"{'setting':<24} {'seconds':>8} {'subs/min':>9} {'vs raw':>7} {'peak GiB':>9}")
        for row in rows:
            print(f"{row.setting:<24} {row.seconds:>8.1f} {args.learners * 60 / row.seconds:>9.1f} "
                  f"{base / row.seconds:>7.2f} {row.peak_gib:>9.1f}")
        j2 = next(r for r in rows if r.setting.startswith("-j 2,"))
        print(f"re-run of the unchanged cohort: {rows[-1].seconds / j2.seconds:.1%} of the first -j 2 run")
        two = next(r for r in rows if r.setting.startswith("-j 1, two"))
        print(f"two engines at -j 1 each against one engine at -j 2: {j2.seconds / two.seconds:.2f}x the throughput")


if __name__ == "__main__":
    main()

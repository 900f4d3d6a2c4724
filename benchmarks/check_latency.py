"""How long a learner waits: `mastery check` against the raw Docker commands that do the same job.

For the ml-api solution, times (a) `mastery check ml-api DIR` as a learner runs it, and (b) the raw
sequence by hand: docker build, docker run, poll GET /health until it answers, POST /predict, docker rm.
Both run from this process on the same engine (the one `mastery check` would grade on, or the one
`--engine`/MASTERY_ENGINE names), with the builder the grader uses on it, cold (build cache cleared) and
warm, and the median of several runs is printed with the ratio. Target: warm check <= 1.15x raw.

    .venv/bin/python benchmarks/check_latency.py [--engine course|host] [--runs 5] [--cold-runs 1]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graders import engine
from graders.labs import get_lab
from graders.labs.ml_api.spec import draw_flowers
from graders.submission import materialize

RAW_TAG = "mastery-bench/raw:latest"


def pin_engine(choice: str | None) -> str:
    """Point this process, its docker commands and `mastery check` at one engine; say which, with its version
    and builder. Both sides then build with the builder the grader uses there (BuildKit from Engine 23)."""
    chosen = engine.use(choice)
    os.environ.update(chosen.env())
    os.environ["MASTERY_ENGINE"] = chosen.url
    os.environ["DOCKER_BUILDKIT"] = "1" if engine.buildkit_by_default() else "0"
    version = engine.client().version().get("Version", "?")
    builder = "BuildKit" if os.environ["DOCKER_BUILDKIT"] == "1" else "legacy builder"
    return f"engine {chosen.url} ({chosen.source}): Docker Engine {version}, {builder}"


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def raw_sequence(folder: Path) -> None:
    sh("docker", "build", "-q", "-t", RAW_TAG, str(folder))
    where = engine.site()  # the course engine publishes on its bridge address, a host engine on loopback
    cid = sh("docker", "run", "-d", "-p", f"{where.publish_on}::8080", RAW_TAG)
    try:
        port = sh("docker", "port", cid, "8080/tcp").splitlines()[0].rsplit(":", 1)[1]
        base = f"http://{where.published_host}:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.ReadTimeout):  # not listening, or its worker still loading
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the raw container never answered")
            time.sleep(0.1)
        flowers, judge = draw_flowers(random.Random(0))  # the kind of request the check sends
        answer = requests.post(f"{base}/predict", json=flowers, timeout=5).json()
        assert judge(answer) is None, answer
    finally:
        sh("docker", "rm", "-f", cid)


def mastery_check(folder: Path) -> None:
    mastery = Path(sys.executable).parent / "mastery"
    proc = subprocess.run([str(mastery), "check", "ml-api", str(folder)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mastery check did not pass:\n{proc.stdout[-2000:]}")


def clear_cache() -> None:
    """Forget every layer of this lab's build, so the next build starts from the base image."""
    subprocess.run(["docker", "rmi", "-f", RAW_TAG], capture_output=True)
    subprocess.run(["docker", "image", "prune", "-f"], capture_output=True)


def timed(fn: Callable[[Path], None], folder: Path, runs: int, cold: bool) -> list[float]:
    out = []
    for _ in range(runs):
        if cold:
            clear_cache()
        started = time.perf_counter()
        fn(folder)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="warm runs of each (median reported)")
    parser.add_argument("--cold-runs", type=int, default=1, help="cold runs of each (0 to skip)")
    parser.add_argument("--engine", help="course, host, a context or a URL (default: the one mastery check uses)")
    args = parser.parse_args()
    print(pin_engine(args.engine))
    spec = get_lab("ml-api")
    folder = materialize(spec, into=Path(tempfile.mkdtemp(prefix="mastery-bench-", dir=engine.scratch_dir())) / "ml-api")
    try:
        rows = []
        for label, cold, runs in (("cold", True, args.cold_runs), ("warm", False, args.runs)):
            if runs == 0:
                continue
            if not cold:  # prime both caches once
                raw_sequence(folder)
                mastery_check(folder)
            raw = timed(raw_sequence, folder, runs, cold)
            check = timed(mastery_check, folder, runs, cold)
            rows.append((label, runs, statistics.median(raw), statistics.median(check)))
        print(f"{'cache':<6} {'runs':>4} {'raw docker (s)':>15} {'mastery check (s)':>18} {'ratio':>6}")
        for label, runs, raw_s, check_s in rows:
            print(f"{label:<6} {runs:>4} {raw_s:>15.2f} {check_s:>18.2f} {check_s / raw_s:>6.2f}")
    finally:
        subprocess.run(["docker", "rmi", "-f", RAW_TAG], capture_output=True)
        shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    main()

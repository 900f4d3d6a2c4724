"""How long a learner waits on a compose lab: `mastery check LAB` against the raw Compose commands.

For a compose lab's solution, times (a) `mastery check LAB DIR` and (b) what a person types to see the
stack work: `docker compose up --build --wait`, then `docker compose down --volumes`. Both run from
this process on one engine (as in check_latency.py) with the build cache warm; the median of several
runs is printed with the ratio. The check does more than the raw pair (it recreates or scales the
stack where the lab asks), so the ratio is the price of the checks, not only of the grader.

    .venv/bin/python benchmarks/stack_latency.py [--engine course|host] [--runs 3] [LAB ...]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_latency import pin_engine, timed

from graders import engine
from graders.labs import get_lab
from graders.submission import materialize

PROJECT = "mastery-bench"


def compose(folder: Path, *args: str) -> None:
    subprocess.run(["docker", "compose", "-p", PROJECT, *args], cwd=folder, check=True, capture_output=True, text=True)


def raw_pair(folder: Path) -> None:
    try:
        compose(folder, "up", "--build", "--wait", "--wait-timeout", "300")
    finally:
        compose(folder, "down", "--volumes", "--remove-orphans")


def mastery_check(lab: str) -> Callable[[Path], None]:
    def run(folder: Path) -> None:
        mastery = Path(sys.executable).parent / "mastery"
        proc = subprocess.run([str(mastery), "check", lab, str(folder)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"mastery check {lab} did not pass:\n{proc.stdout[-2000:]}")

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labs", nargs="*", default=["secure-runtime", "troubleshooting", "ds-stack", "ml-pipeline"])
    parser.add_argument("--runs", type=int, default=3, help="warm runs of each (median reported)")
    parser.add_argument("--engine", help="course, host, a context or a URL (default: the one mastery check uses)")
    args = parser.parse_args()
    print(pin_engine(args.engine))
    print(f"{'lab':<16} {'runs':>4} {'up+down (s)':>12} {'mastery check (s)':>18} {'ratio':>6}")
    for lab in args.labs:
        folder = materialize(get_lab(lab), into=Path(tempfile.mkdtemp(prefix="mastery-bench-", dir=engine.scratch_dir())) / lab)
        try:
            check = mastery_check(lab)
            raw_pair(folder)  # prime both caches once
            check(folder)
            raw = timed(raw_pair, folder, args.runs, cold=False)
            graded = timed(check, folder, args.runs, cold=False)
            raw_s, check_s = statistics.median(raw), statistics.median(graded)
            print(f"{lab:<16} {args.runs:>4} {raw_s:>12.2f} {check_s:>18.2f} {check_s / raw_s:>6.2f}", flush=True)
        finally:
            subprocess.run(["docker", "compose", "-p", PROJECT, "down", "--volumes"], cwd=folder, capture_output=True)
            shutil.rmtree(folder.parent, ignore_errors=True)
    # The raw builds' tags; their layers stay, as the grader's build cache.
    made = subprocess.run(["docker", "images", "-q", "--filter", f"reference={PROJECT}-*"], capture_output=True, text=True)
    for image in set(made.stdout.split()):
        subprocess.run(["docker", "rmi", "--no-prune", "--force", image], capture_output=True)


if __name__ == "__main__":
    main()

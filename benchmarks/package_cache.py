"""What the package cache saves: learner 1 and learner 2 of a lab build the same solution, each with a fresh
install layer (a new comment on the first `pip install` line, as two learners' Dockerfiles differ), through the
grader's package cache (graders/package_cache). Printed per learner: the build's time, the bytes that came from
upstream and from the cache, and the cache's hits and misses.

    .venv/bin/python benchmarks/package_cache.py [--engine course] [--empty-first] [LAB]

--empty-first empties the cache's store (its authority stays) so that learner 1 finds nothing in it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_latency import pin_engine

from graders import engine
from graders.build import build_image
from graders.labs import get_lab
from graders.package_cache import service
from graders.submission import materialize

INSTALL = re.compile(r"^(RUN\b.*\bpip3? install\b.*)$", re.MULTILINE)
MiB = 2**20


def with_fresh_install(dockerfile: Path) -> None:
    """Make the first pip install line a new one for the build cache, as another learner's would be."""
    text = dockerfile.read_text()
    match = INSTALL.search(text)
    if match is None or match.group(1).rstrip().endswith("\\"):
        raise SystemExit(f"{dockerfile}: no one-line `RUN ... pip install ...` to vary")
    dockerfile.write_text(text[:match.end(1)] + f" # learner {uuid.uuid4().hex}" + text[match.end(1):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lab", nargs="?", default="ml-api")
    parser.add_argument("--engine", default="course")
    parser.add_argument("--empty-first", action="store_true", help="empty the cache's store before learner 1")
    args = parser.parse_args()
    if args.empty_first:
        shutil.rmtree(service.folder() / "objects", ignore_errors=True)
    print(pin_engine(args.engine))
    spec = get_lab(args.lab)
    root = Path(tempfile.mkdtemp(prefix="mastery-bench-cache-", dir=engine.scratch_dir()))
    try:
        for learner in (1, 2):
            folder = materialize(spec, into=root / f"learner-{learner}")
            with_fresh_install(folder / "Dockerfile")
            before = service.stats() or {"hits": 0, "misses": 0, "upstream_bytes": 0, "served_bytes": 0}
            started = time.perf_counter()
            built = build_image(folder, folder / "Dockerfile", f"mastery-bench/package-cache:{learner}", {},
                                timeout_s=spec.limits.build_timeout_s, buildkit=True)
            seconds = time.perf_counter() - started
            after = service.stats()
            if after is None:
                raise SystemExit("the build did not go through the package cache (see `mastery doctor`)")
            upstream = after["upstream_bytes"] - before["upstream_bytes"]
            cached = after["served_bytes"] - before["served_bytes"] - upstream
            print(f"learner {learner}: build {seconds:.1f} s, {upstream / MiB:.1f} MiB from upstream, "
                  f"{cached / MiB:.1f} MiB from the cache, {after['hits'] - before['hits']} hits, "
                  f"{after['misses'] - before['misses']} misses")
            engine.client().images.remove(built.tag)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The BuildKit checks' parts that need no engine: mount options, the Dockerfile without its cache mounts,
the download figures read from a build log, and the static checks against every variant of the lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.build import failed_step_tail
from graders.check_model import Phase
from graders.checks.buildkit import _unique_blank_line, downloads_in, human, without_cache_mounts
from graders.context import GradingContext
from graders.dockerfile_model import parse_dockerfile
from graders.labs import get_lab
from graders.results import Status
from graders.submission import Variant, materialize, variants
from graders.watch import LOG_TAIL_LINES

SPEC = get_lab("buildkit")


def test_mount_options_are_read_as_buildkit_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM --platform=$BUILDPLATFORM a AS w\n"
                    "RUN --mount=type=cache,dst=/root/.cache/pip,sharing=locked --mount=src=r.txt,target=/r,readonly "
                    "pip install -r /r\nFROM b\nCMD [\"x\"]\n")
    df = parse_dockerfile(path)
    assert df.stages[0].instructions[0].mounts() == [
        {"type": "cache", "target": "/root/.cache/pip", "sharing": "locked"},
        {"type": "bind", "source": "r.txt", "target": "/r", "readonly": "true"},
    ]
    assert [s.platform for s in df.stages] == ["$BUILDPLATFORM", ""]


@pytest.mark.parametrize(("lines", "passes"), [
    ("ENV PIP_CACHE_DIR=/pipcache\nRUN --mount=type=cache,target=/pipcache pip install x", True),
    ("RUN --mount=type=cache,target=/pipcache pip install --cache-dir /pipcache x", True),
    ("RUN --mount=type=cache,target=/home/app/.cache/pip pip install x", True),
    ("RUN --mount=type=cache,target=/pipcache pip install x", False),
    ("RUN --mount=type=cache,target=/var/cache/apt apt-get update && apt-get install -y jq", True),
    ("RUN --mount=type=cache,target=/var/cache/apt echo no install here", False),
])
def test_cache_mount_targets(tmp_path: Path, lines: str, passes: bool) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(f"FROM a\n{lines}\nCMD [\"x\"]\n")
    ctx = GradingContext(spec=SPEC, submission=tmp_path, run_id="0123456789ab", dockerfile=parse_dockerfile(path))
    outcome = SPEC.check("cache_mounts_used").run(ctx)
    assert (outcome.status is Status.PASSED) == passes, outcome.message


@pytest.mark.parametrize(("text", "passes"), [
    # A trainer stage on $BUILDPLATFORM rightly uses no TARGET* argument when another stage does.
    ("FROM --platform=$BUILDPLATFORM a AS trainer\nRUN train\n"
     "FROM --platform=$BUILDPLATFORM a AS wheels\nARG TARGETOS TARGETARCH\n"
     "RUN pip download --platform manylinux2014_${TARGETARCH} -d /w x\nFROM a\n", True),
    ("FROM --platform=$BUILDPLATFORM a AS trainer\nRUN train\nFROM a\n", False),
    ("FROM --platform=$BUILDPLATFORM a AS w\nARG TARGETARCH\nRUN uv pip install --python-platform $TARGETARCH x\n"
     "FROM --platform=$TARGETPLATFORM a\n", True),
    # Through an ENV made from it; and only mentioned (echo), which changes nothing that is downloaded.
    ("FROM --platform=$BUILDPLATFORM a AS w\nARG TARGETARCH\nENV ARCH=$TARGETARCH\n"
     "RUN pip download --platform manylinux2014_$ARCH -d /w x\nFROM a\n", True),
    ("FROM --platform=$BUILDPLATFORM a AS w\nARG TARGETARCH\nRUN echo wheels for $TARGETARCH && pip download -d /w x\n"
     "FROM a\n", False),
    ("FROM --platform=$BUILDPLATFORM a AS w\nARG TARGETARCH\nRUN pip download --platform $TARGETARCH x\n"
     "FROM --platform=$BUILDPLATFORM a\n", False),
    ("FROM --platform=$BUILDPLATFORM a AS w\nRUN pip download --platform $TARGETARCH x\nARG TARGETARCH\nFROM a\n", False),
])
def test_platform_stages(tmp_path: Path, text: str, passes: bool) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(text + "CMD [\"x\"]\n")
    ctx = GradingContext(spec=SPEC, submission=tmp_path, run_id="0123456789ab", dockerfile=parse_dockerfile(path))
    outcome = SPEC.check("platform_aware_from").run(ctx)
    assert (outcome.status is Status.PASSED) == passes, outcome.message


def test_automatic_platform_arguments_need_buildkit(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM --platform=${BUILDPLATFORM} a\nCMD [\"x\"]\n")
    assert parse_dockerfile(path).needs_buildkit
    path.write_text("FROM --platform=linux/amd64 a\nCMD [\"x\"]\n")
    assert not parse_dockerfile(path).needs_buildkit


def test_the_baseline_keeps_everything_but_the_cache_mounts(tmp_path: Path) -> None:
    folder = materialize(SPEC, into=tmp_path / "sub")
    solution = parse_dockerfile(folder / "Dockerfile")
    stripped = folder / "Dockerfile.stripped"
    stripped.write_text(without_cache_mounts(solution))
    df = parse_dockerfile(stripped)
    assert not any(m["type"] == "cache" for ins in df.instructions for m in ins.mounts())
    assert [m["type"] for ins in df.instructions for m in ins.mounts()] == ["bind", "bind", "bind", "bind"]
    assert [(i.keyword, i.args) for i in df.instructions] == [(i.keyword, i.args) for i in solution.instructions]


def test_a_cache_mount_on_the_command_line_is_removed_too(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM a\nRUN --mount=type=cache,target=/root/.cache/pip pip install x\nCMD [\"x\"]\n")
    assert without_cache_mounts(parse_dockerfile(path)) == "FROM a\nRUN pip install x\nCMD [\"x\"]\n"


def test_downloads_are_read_from_the_build_log() -> None:
    log = """#7 0.336 Get:1 http://deb.debian.org/debian trixie InRelease [140 kB]
#7 0.394 Fetched 9,837 kB in 1s (8,034 kB/s)
#7 1.791 Need to get 21.5 MB/22.0 MB of archives.
#7 2.100 Fetched 21.5 MB in 0s (98.1 MB/s)
#8 0.629   Downloading pyyaml-6.0.3-cp313-cp313-manylinux2014_x86_64.whl (801 kB)
#8 0.700   Using cached flask-3.1.3-py3-none-any.whl (103 kB)
"""
    got = downloads_in(log)
    assert (got.apt, got.pip) == (9_837_000 + 21_500_000, 801_000)
    assert human(got.total) == "32.1 MB" and human(140_000) == "140 kB" and human(0) == "0 B"


def test_each_run_adds_a_different_blank_line() -> None:
    lines = {_unique_blank_line(run) for run in ("0123456789ab", "0123456789ac", "ffffffffffff")}
    assert len(lines) == 3
    assert all(not line.strip() and line.endswith("\n") for line in lines)


@pytest.mark.parametrize("variant", [None, *variants(SPEC)], ids=lambda v: v.name if v else "solution")
def test_static_checks_fail_exactly_where_the_variant_says(variant: Variant | None, tmp_path: Path) -> None:
    folder = materialize(SPEC, variant, into=tmp_path / "sub")
    ctx = GradingContext(spec=SPEC, submission=folder, run_id="0123456789ab",
                         dockerfile=parse_dockerfile(folder / "Dockerfile"))
    static = [c for c in SPEC.checks if c.phase == Phase.STATIC]
    failed = {c.name for c in static if c.run(ctx).status is not Status.PASSED}
    assert failed == (set(variant.fails) if variant else set()) & {c.name for c in static}


def test_a_failed_buildkit_build_shows_its_failing_step_not_the_dockerfile_excerpt() -> None:
    """BuildKit ends its log with the Dockerfile around the failing line; pip's own error, 20 lines up, would
    fall out of a plain tail. The failing step's lines come instead, without step numbers and timestamps."""
    pip_box = [f"#7 1.106     line {n} of pip's explanation" for n in range(18)]
    log = ["#6 [2/3] RUN true", "#6 DONE 0.1s", "#7 [3/3] RUN pip3 install numpy==2.3.5",
           "#7 0.741 error: externally-managed-environment", *pip_box,
           '#7 ERROR: process "/bin/sh -c pip3 install numpy==2.3.5" did not complete successfully: exit code: 1',
           "------", " > [3/3] RUN pip3 install numpy==2.3.5:", *(f"1.106 {n}" for n in range(10)), "------",
           "Dockerfile:9", "--------------------", "   9 | >>> RUN pip3 install numpy==2.3.5", "--------------------",
           'ERROR: failed to build: failed to solve: process "/bin/sh -c pip3 install numpy==2.3.5" did not complete '
           "successfully: exit code: 1"]
    tail = failed_step_tail(log)
    assert tail is not None
    lines = tail.splitlines()
    assert lines[0] == "[3/3] RUN pip3 install numpy==2.3.5" and lines[1] == "error: externally-managed-environment"
    assert lines[-1].startswith("ERROR: failed to build") and not any("Dockerfile:9" in line for line in lines)
    assert len(lines) <= LOG_TAIL_LINES
    assert failed_step_tail(["Step 2/3 : RUN exit 3", "The command '/bin/sh -c exit 3' returned a non-zero code: 3"]) is None

"""CI/CD's worked example, step 10 of the course project: the forecast API's unit tests run inside the image, in
the Dockerfile's test stage, as the workflow runs them. samples.toml builds the default image and checks its
answers; this test builds the test stage the way the workflow does (`target: test`), runs it as the workflow's
step does, and checks that the page quotes what pytest printed, and that the image that ships has no pytest."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator

import pytest
import yaml

from graders.spec import REPO_ROOT

pytestmark = [pytest.mark.engine, pytest.mark.slow]

FOLDER = REPO_ROOT / "course" / "samples" / "cicd"
PAGE = REPO_ROOT / "course" / "cicd.md"
SAMPLE_LABEL = "io.mastery.sample"


@contextlib.contextmanager
def built(tag: str, *flags: str) -> Iterator[str]:
    from graders.build import build_image
    from graders.engine import client

    build_image(FOLDER, FOLDER / "Dockerfile", tag, {SAMPLE_LABEL: "1"}, timeout_s=600, extra_flags=flags)
    try:
        yield tag
    finally:
        with contextlib.suppress(Exception):
            client().images.remove(tag, noprune=True)


def run(image: str, command: list[str] | None = None) -> tuple[int, str]:
    from graders.engine import client

    container = client().containers.create(image, command, labels={SAMPLE_LABEL: "1"}, network_mode="none")
    try:
        container.start()
        status = container.wait(timeout=180)
        return status["StatusCode"], container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def workflow_test_steps() -> tuple[dict[str, str], str]:
    """The test job's build inputs and its run step, from the workflow the page shows."""
    steps = yaml.safe_load((FOLDER / "ci.workflow.yml").read_text(encoding="utf-8"))["jobs"]["test"]["steps"]
    build = next(step["with"] for step in steps if str(step.get("uses", "")).startswith("docker/build-push-action"))
    command = next(step["run"] for step in steps if "docker run" in step.get("run", ""))
    return build, command


def test_the_unit_tests_pass_inside_the_test_stage_as_the_page_shows() -> None:
    build, command = workflow_test_steps()
    assert build["target"] == "test" and command == f"docker run --rm {build['tags']}"
    page = PAGE.read_text(encoding="utf-8")
    with built("mastery-sample/cicd:test-stage", "--target", build["target"]) as image:
        code, output = run(image)
    assert code == 0, output
    results = re.findall(r"^(tests/\S+ PASSED)", output, re.M)
    assert len(results) == 11 and "11 passed" in output, output
    quoted = re.findall(r"^(tests/\S+ PASSED)", page, re.M)
    assert quoted and set(quoted) <= set(results), f"the page quotes {quoted}; pytest printed {results}"
    assert "11 passed in" in page


def test_the_image_that_ships_has_neither_pytest_nor_the_tests() -> None:
    page = PAGE.read_text(encoding="utf-8")
    with built("mastery-sample/cicd:shipped") as image:
        code, output = run(image, ["python", "-c", "import pytest"])
        listed = run(image, ["ls", "/srv"])
    assert code == 1 and "ModuleNotFoundError: No module named 'pytest'" in output, output
    assert listed == (0, "app.py\nforecast.py\nmodel.json\n"), listed
    assert "ModuleNotFoundError: No module named 'pytest'" in page


def test_a_tag_with_capitals_stops_the_build_as_the_page_says() -> None:
    """The Predict exercise: the name is refused before anything is built, with the line the page quotes."""
    from graders import engine

    if not engine.buildkit_by_default():
        pytest.skip("the page quotes what a BuildKit build prints")
    proc = subprocess.run(["docker", "build", "-t", "ghcr.io/MyOrg/forecast-api:test", "."], cwd=FOLDER,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **engine.address().env()})
    said = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if "must be lowercase" in line]
    assert proc.returncode != 0 and said, proc.stdout + proc.stderr
    assert said[0] == 'ERROR: failed to build: invalid tag "ghcr.io/MyOrg/forecast-api:test": repository name must be lowercase'
    assert said[0] in PAGE.read_text(encoding="utf-8")

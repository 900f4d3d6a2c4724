"""The conda and uv samples of "Production images" (course/samples/production-image/), checked without an engine.

tests/test_samples.py lints and parses their Dockerfiles; these files it does not read. So: environment.yml,
pyproject.toml and uv.lock pin the same numpy, pandas and scikit-learn as every requirements file of the course;
uv.lock is the lock of that pyproject.toml (what `uv sync --locked` checks before it installs); and the micromamba
Dockerfile activates the environment the way the lesson says it must.
"""

from __future__ import annotations

import re
import tomllib

import yaml

from graders.dockerfile_model import parse_dockerfile
from graders.spec import REPO_ROOT

FOLDER = REPO_ROOT / "course" / "samples" / "production-image"
DIRECT = {"numpy", "pandas", "scikit-learn"}


def _course_pins() -> dict[str, str]:
    """Package -> version, from every requirements file under course/ (test_course.py keeps them to one version)."""
    pins: dict[str, str] = {}
    for path in (REPO_ROOT / "course").rglob("requirements*.txt"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if match := re.match(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line):
                pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def _pyproject() -> dict[str, object]:
    return tomllib.loads((FOLDER / "pyproject.toml").read_text(encoding="utf-8"))


def _requirement(spec: str) -> tuple[str, str]:
    name, _, version = spec.partition("==")
    assert version, f"{spec!r} is not pinned with =="
    return name.strip().lower(), version.strip()


def test_pyproject_pins_the_courses_versions() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    pins = dict(_requirement(spec) for spec in project["dependencies"])
    assert set(pins) == DIRECT
    course = _course_pins()
    assert {name: course[name] for name in DIRECT} == pins


def test_uv_lock_is_the_lock_of_that_pyproject() -> None:
    pyproject = _pyproject()
    project = pyproject["project"]
    assert isinstance(project, dict)
    lock = tomllib.loads((FOLDER / "uv.lock").read_text(encoding="utf-8"))
    assert lock["requires-python"] == project["requires-python"]
    packages = {package["name"]: package for package in lock["package"]}
    root = packages[project["name"]]
    assert root["source"] == {"virtual": "."}, "no [build-system]: uv installs the dependencies, not the project"
    locked_specs = {item["name"]: item["specifier"] for item in root["metadata"]["requires-dist"]}
    assert locked_specs == {name: f"=={version}" for name, version in map(_requirement, project["dependencies"])}
    groups = pyproject["dependency-groups"]
    assert isinstance(groups, dict)
    locked_dev = {item["name"]: item["specifier"] for item in root["metadata"]["requires-dev"]["dev"]}
    assert locked_dev == {name: f"=={version}" for name, version in map(_requirement, groups["dev"])}
    for name, version in map(_requirement, project["dependencies"]):
        assert packages[name]["version"] == version, f"uv.lock holds {name} {packages[name]['version']}"
    every_file = [w for p in lock["package"] for w in p.get("wheels", []) + ([p["sdist"]] if "sdist" in p else [])]
    assert every_file and all(w["hash"].startswith("sha256:") for w in every_file), "each file carries its hash"


def test_environment_yml_pins_the_courses_versions_exactly() -> None:
    env = yaml.safe_load((FOLDER / "environment.yml").read_text(encoding="utf-8"))
    assert env["name"] == "base" and env["channels"] == ["conda-forge"]
    specs: dict[str, str] = {}
    for dep in env["dependencies"]:
        match = re.fullmatch(r"([a-z0-9-]+)=+(.+)", dep)
        assert match, f"{dep!r} names no version"
        specs[match[1]] = match[2]
    assert specs.pop("python") == "3.13", "the Python of the course's other images"
    assert all("==" in dep for dep in env["dependencies"] if not dep.startswith("python=")), "exact pins: == not ="
    course = _course_pins()
    assert specs == {name: course[name] for name in DIRECT}


def test_micromamba_dockerfile_activates_as_the_lesson_says() -> None:
    text = (FOLDER / "micromamba.Dockerfile").read_text(encoding="utf-8")
    df = parse_dockerfile(FOLDER / "micromamba.Dockerfile")
    assert df.final.last("ENTRYPOINT") is None, "an ENTRYPOINT of its own would replace the one that activates"
    cmd = df.final.last("CMD")
    assert cmd is not None and cmd.is_json
    activate = text.index("ARG MAMBA_DOCKERFILE_ACTIVATE=1")
    python_run = re.search(r"^RUN python", text, re.M)
    assert python_run and activate < python_run.start(), "RUN python needs the build argument above it"
    assert not re.search(r"^RUN \[", text, re.M), "the exec form of RUN bypasses the activating shell"


def test_uv_dockerfile_syncs_the_lock_without_dev_tools_and_ships_without_uv() -> None:
    df = parse_dockerfile(FOLDER / "uv.Dockerfile")
    builder, final = df.stages
    assert builder.base == final.base, "the environment's python links to the builder's interpreter"
    text = (FOLDER / "uv.Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"uv sync --locked --no-dev\b", text)
    final_text = text[text.index("FROM python:3.13-slim\n"):]
    assert "uv" not in re.sub(r"#.*", "", final_text).replace("/opt/venv", ""), "uv stays in the builder stage"


def test_dockerignore_sends_exactly_what_the_two_dockerfiles_copy() -> None:
    """An allow-list: everything is left out (a local .venv above all), then the copied files are let in."""
    lines = [line for line in (FOLDER / ".dockerignore").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    allowed = {line.removeprefix("!") for line in lines[1:]}
    copied: set[str] = set()
    for dockerfile in ("uv.Dockerfile", "micromamba.Dockerfile"):
        text = (FOLDER / dockerfile).read_text(encoding="utf-8")
        for sources in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", text, re.M):
            copied.update(sources.split())
    assert copied == allowed

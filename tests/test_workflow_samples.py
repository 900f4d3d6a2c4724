"""Samples of the data-science workflow lessons that tests/test_samples.py cannot judge by their kind: the dev container
of "Jupyter in a container", the Dockerfile written inline in a Compose sample, and the Slurm job script of "Training on
a GPU". Nothing here needs an engine: the files are read, and hadolint lints the inline Dockerfile."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from graders.dockerfile_model import parse_dockerfile
from graders.spec import REPO_ROOT

SAMPLES = REPO_ROOT / "course" / "samples"
BIN = Path(sys.executable).parent
OFFLINE_BASES = {"python:3.13-slim", "python:3.11-slim", "debian:bookworm-slim", "debian:trixie-slim", "scratch"}

# --- The dev container (course/workflows/jupyter.md). check-jsonschema ships no dev container schema, so the file is
# checked against the properties the specification documents:
# https://github.com/devcontainers/spec/blob/main/docs/specs/devcontainerjson-reference.md (containers.dev/implementors/json_reference)
DEVCONTAINER = SAMPLES / "jupyter" / ".devcontainer" / "devcontainer.json"
DEVCONTAINER_PROPERTIES = {
    # general
    "name", "forwardPorts", "portsAttributes", "otherPortsAttributes", "remoteEnv", "remoteUser", "updateRemoteUserUID",
    "userEnvProbe", "overrideCommand", "features", "shutdownAction", "customizations",
    # image or Dockerfile
    "image", "build", "appPort", "containerEnv", "containerUser", "mounts", "workspaceMount", "workspaceFolder", "runArgs",
    # Docker Compose
    "dockerComposeFile", "service", "runServices",
    # lifecycle scripts
    "initializeCommand", "onCreateCommand", "updateContentCommand", "postCreateCommand", "postStartCommand",
    "postAttachCommand", "waitFor",
    "hostRequirements",
}
BUILD_PROPERTIES = {"dockerfile", "context", "args", "target", "cacheFrom"}


def _devcontainer() -> dict[str, Any]:
    config = json.loads(DEVCONTAINER.read_text(encoding="utf-8"))  # plain JSON: no comments, so any tool reads it
    assert isinstance(config, dict)
    return config


def test_devcontainer_uses_only_documented_properties() -> None:
    config = _devcontainer()
    assert set(config) <= DEVCONTAINER_PROPERTIES, f"not in the specification: {set(config) - DEVCONTAINER_PROPERTIES}"
    assert set(config["build"]) <= BUILD_PROPERTIES, f"not build properties: {set(config['build']) - BUILD_PROPERTIES}"
    assert ("workspaceMount" in config) == ("workspaceFolder" in config), "the specification wants both or neither"
    extensions = config["customizations"]["vscode"]["extensions"]
    assert extensions and all(re.fullmatch(r"[\w-]+\.[\w-]+", e) for e in extensions), "extension IDs are publisher.name"


def test_devcontainer_builds_the_lessons_dockerfile_and_matches_it() -> None:
    """build.dockerfile and build.context are relative to devcontainer.json; the file must name what the image has."""
    config = _devcontainer()
    dockerfile = (DEVCONTAINER.parent / config["build"]["dockerfile"]).resolve()
    context = (DEVCONTAINER.parent / config["build"].get("context", ".")).resolve()
    assert dockerfile == SAMPLES / "jupyter" / "Dockerfile", f"it builds {dockerfile}, not the lesson's Dockerfile"
    assert context.is_dir() and dockerfile.is_relative_to(context), "the Dockerfile lies outside the build context"
    for copied in re.findall(r"^COPY\s+(\S+)", dockerfile.read_text(encoding="utf-8"), re.MULTILINE):
        assert (context / copied).exists(), f"the Dockerfile copies {copied}, which the build context lacks"
    df = parse_dockerfile(dockerfile)
    assert config["remoteUser"] == df.user, f"remoteUser {config['remoteUser']!r}, but the image's user is {df.user!r}"
    exposed = {int(p.split("/")[0]) for ins in df.final.instructions if ins.keyword == "EXPOSE" for p in ins.args}
    assert set(config["forwardPorts"]) <= exposed, "it forwards a port the image does not serve on"
    if config.get("overrideCommand") is False:  # the page says JupyterLab starts with the container: the image's CMD
        assert df.final.last("CMD") is not None
    workdir = df.final.last("WORKDIR")
    if "workspaceFolder" in config:  # the project is mounted where the image's JupyterLab works
        assert workdir and config["workspaceFolder"] == workdir.args[0], "workspaceFolder is not the image's WORKDIR"


# --- Dockerfiles written inline in a Compose sample (build.dockerfile_inline): linted and parsed like a sample file.
def _inline_dockerfiles() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SAMPLES.rglob("*.y*ml")):
        if not re.fullmatch(r"(compose(\..+)?|.+\.compose)\.ya?ml", path.name):
            continue
        services = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("services") or {}
        for name, service in services.items():
            build = service.get("build") if isinstance(service, dict) else None
            if isinstance(build, dict) and "dockerfile_inline" in build:
                found.append((f"{path.relative_to(SAMPLES)}:{name}", build["dockerfile_inline"]))
    return found


INLINE = _inline_dockerfiles()


def test_the_hugging_face_sample_has_its_inline_dockerfile() -> None:
    assert any(where.startswith("serving-a-model/hf-cache.compose.yaml:") for where, _ in INLINE)


@pytest.mark.parametrize(("where", "text"), INLINE, ids=[w for w, _ in INLINE])
def test_inline_dockerfile_lints_parses_and_builds_offline(where: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    df = parse_dockerfile(path)
    foreign = [s.base for s in df.stages if s.base not in OFFLINE_BASES and "$" not in s.base]
    assert not foreign, f"{where}: base image(s) {foreign} cannot be built offline"
    proc = subprocess.run([str(BIN / "hadolint"), "--failure-threshold", "warning", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{where}:\n{proc.stdout}{proc.stderr}"
    assert df.user and df.user != "root", f"{where}: the course's images run as a user that is not root"


def test_hugging_face_cache_folder_belongs_to_the_user_before_user_switches() -> None:
    """The page's point: a new, empty volume takes the owner of the folder it is mounted on, so the image creates
    HF_HOME and chowns it to the user before USER, and every service mounts its volume exactly there."""
    compose = yaml.safe_load((SAMPLES / "serving-a-model" / "hf-cache.compose.yaml").read_text(encoding="utf-8"))
    text = dict(INLINE)["serving-a-model/hf-cache.compose.yaml:serve"]
    home = re.search(r"^ENV HF_HOME=(\S+)", text, re.MULTILINE)
    assert home, "the image sets HF_HOME"
    user = re.search(r"^USER (\S+)", text, re.MULTILINE)
    chown = re.search(rf"chown {user[1] if user else '?'}:\S+ {re.escape(home[1])}\b", text)
    assert user and chown and chown.start() < user.start(), "chown HF_HOME to the user, before USER"
    for name, service in compose["services"].items():
        targets = [v.split(":")[1] for v in service["volumes"]]
        assert targets == [home[1]], f"{name} mounts the cache at {targets}, not at HF_HOME ({home[1]})"
    serve = compose["services"]["serve"]
    assert serve["environment"]["HF_HUB_OFFLINE"] == "1" and serve["volumes"][0].endswith(":ro")
    assert "HF_HUB_OFFLINE" not in compose["services"]["warm"]["environment"], "the job that fills the cache goes online"


# --- The Slurm job script (course/workflows/gpu-training.md). `bash -n` (tests/test_samples.py) only sees comments in
# #SBATCH lines; sbatch reads them only before the first command ("Once the first non-comment, non-whitespace line has
# been reached in the script, no more #SBATCH directives will be processed": sbatch(1), https://slurm.schedmd.com/sbatch.html).
SBATCH = SAMPLES / "gpu-training" / "train-apptainer.sbatch.sh"
# `apptainer run` flags the lesson uses, as apptainer's CLI defines them (cmd/internal/cli/action_flags.go;
# https://apptainer.org/docs/user/main/cli/apptainer_run.html).
APPTAINER_RUN_FLAGS = {"--nv", "--containall", "--contain", "--cleanenv", "--bind", "--pwd", "--env", "--writable-tmpfs",
                       "--compat"}


def test_sbatch_directives_come_before_the_first_command() -> None:
    lines = SBATCH.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#!"), "sbatch wants a script with a shebang line"
    first_command = next(n for n, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#"))
    directives = [n for n, line in enumerate(lines) if line.startswith("#SBATCH")]
    assert directives, "no #SBATCH directives"
    late = [lines[n] for n in directives if n > first_command]
    assert not late, f"sbatch ignores these, after the first command: {late}"
    assert any("--gres=gpu:" in lines[n] for n in directives), "the job asks for a GPU"


def test_apptainer_run_uses_only_flags_the_lesson_explains() -> None:
    text = SBATCH.read_text(encoding="utf-8").replace("\\\n", " ")
    runs = [line for line in text.splitlines() if line.lstrip().startswith("apptainer run")]
    assert len(runs) == 1, runs
    flags = set(re.findall(r"\s(--[a-z-]+)", runs[0]))
    assert {"--nv", "--containall"} <= flags, flags
    assert flags <= APPTAINER_RUN_FLAGS, f"flags the lesson does not explain: {flags - APPTAINER_RUN_FLAGS}"

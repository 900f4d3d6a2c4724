"""The Kubernetes manifests a department grades a cohort with (deploy/kubernetes): valid for the API server's
schema, and saying what the README says they do. No cluster is reachable here, so they are never applied;
the README says so."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from graders.cli import main
from graders.spec import REPO_ROOT

MANIFESTS = sorted((REPO_ROOT / "deploy" / "kubernetes").glob("*.yaml"))
VALIDATE = Path(sys.executable).parent / "kubernetes-validate"


def _jobs() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc and doc["kind"] == "Job"]


def test_there_are_a_worker_job_and_a_class_files_job() -> None:
    assert {job["metadata"]["name"] for job in _jobs()} == {"grade-ml-api", "assemble-ml-api"}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_the_manifest_is_valid_for_kubernetes_in_strict_mode(path: Path) -> None:
    done = subprocess.run([str(VALIDATE), "--strict", "--quiet", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("job", _jobs(), ids=lambda j: j["metadata"]["name"])
def test_each_pod_runs_its_own_engine_without_privileges_and_the_grader_reaches_only_it(job: dict[str, Any]) -> None:
    pod = job["spec"]["template"]["spec"]
    text = yaml.safe_dump(job)
    assert pod["runtimeClassName"] == "sysbox-runc" and "privileged" not in text and "hostPath" not in text
    assert "docker.sock" not in text.replace("unix:///run/mastery/docker.sock", "")  # never the node's socket
    (engine,) = pod["initContainers"]
    assert engine["restartPolicy"] == "Always"  # a sidecar: up before the grader starts, for the pod's life
    (grader,) = pod["containers"]
    env = {item["name"]: item["value"] for item in grader["env"]}
    assert env["MASTERY_ENGINE"] == "unix:///run/mastery/docker.sock"
    mounts = {m["name"]: m["mountPath"] for c in (engine, grader) for m in c["volumeMounts"]}
    assert mounts["engine-socket"] == "/run/mastery"
    # The grader stages bind-mounted files where the engine sees them at the same path.
    shared = {item["name"]: item["value"] for item in engine["env"]}["MASTERY_SHARED"]
    assert [m["mountPath"] for c in (engine, grader) for m in c["volumeMounts"] if m["name"] == "shared"] == [shared] * 2


@pytest.mark.parametrize("job", _jobs(), ids=lambda j: j["metadata"]["name"])
def test_the_grader_s_command_is_one_mastery_grade_accepts(job: dict[str, Any]) -> None:
    (grader,) = job["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in grader["env"]}
    script = " ".join(grader["args"])
    spec = job["spec"]
    if spec.get("completionMode") == "Indexed":
        # One shard per index, as many shards as completions, all run at once.
        assert '--shard "$JOB_COMPLETION_INDEX/$SHARDS"' in script
        assert int(env["SHARDS"]) == spec["completions"] == spec["parallelism"]
        env["JOB_COMPLETION_INDEX"] = str(spec["completions"] - 1)
    else:
        assert "--shard" not in script
    grade = next(part for part in script.split("&&") if "mastery grade" in part)
    words = [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], word) for word in shlex.split(grade)]
    assert words[:2] == ["mastery", "grade"]
    # Parsed by the real command (without running it): every option exists and takes the value given.
    context = main.commands["grade"].make_context("grade", words[2:])
    assert context.params["lab"] == env["LAB"] and context.params["jobs"] == 2
    assert str(context.params["out_dir"]) == "/cohort/graded"

"""A submitted stack is read by Compose itself, and whatever reaches past its own containers is refused
with the reason, before anything is built or started. No engine is needed: `docker compose config`
only reads files."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import compose_model
from graders.compose_safety import refusals
from graders.errors import SubmissionError
from graders.spec import Limits

BASE = """services:
  app:
    image: python:3.13-slim
{extra}
"""


def stack(tmp_path: Path, extra: str, top: str = "") -> compose_model.ComposeModel:
    (tmp_path / "compose.yaml").write_text(BASE.format(extra=extra) + top)
    return compose_model.load(tmp_path)


def refused(tmp_path: Path, extra: str, top: str = "") -> str:
    return " ".join(refusals(stack(tmp_path, extra, top), tmp_path))


@pytest.mark.parametrize(("extra", "reason"), [
    ("    privileged: true", "privileged: true"),
    ("    network_mode: host", "network_mode: host"),
    ("    pid: host", "pid: host"),
    ("    ipc: host", "ipc: host"),
    ("    cap_add: [SYS_ADMIN]", "SYS_ADMIN"),
    ("    cap_add: [ALL]", "ALL"),
    ("    security_opt: [seccomp:unconfined]", "confinement off"),
    ("    devices: [/dev/sda:/dev/sda]", "host devices"),
    ("    volumes: [/var/run/docker.sock:/var/run/docker.sock]", "engine's socket"),
    ("    volumes: [/etc:/host-etc:ro]", "outside your folder"),
    ("    volumes: [../:/up]", "outside your folder"),
    ("    build: /", "outside your folder"),
    ("    env_file: [/etc/environment]", "outside your folder"),
])
def test_dangerous_options_are_refused_with_the_reason(tmp_path: Path, extra: str, reason: str) -> None:
    assert reason in refused(tmp_path, extra)


def test_external_and_host_bound_volumes_are_refused(tmp_path: Path) -> None:
    said = refused(tmp_path, "    volumes: [data:/data]", "volumes:\n  data:\n    external: true\n")
    assert "external" in said
    said = refused(tmp_path, "    volumes: [data:/data]",
                   "volumes:\n  data:\n    driver_opts: {type: none, o: bind, device: /etc}\n")
    assert "driver_opts" in said


def test_secrets_from_outside_the_folder_are_refused(tmp_path: Path) -> None:
    said = refused(tmp_path, "    secrets: [key]", "secrets:\n  key:\n    file: /etc/shadow\n")
    assert "outside your folder" in said


def test_an_ordinary_stack_passes(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "pw.txt").write_text("x\n")
    extra = ("    volumes: [./data:/data, cache:/cache]\n    cap_drop: [ALL]\n    cap_add: [NET_BIND_SERVICE]\n"
             "    security_opt: [no-new-privileges:true]\n    secrets: [pw]\n    ports: ['8000:8000']")
    assert refused(tmp_path, extra, "volumes:\n  cache:\nsecrets:\n  pw:\n    file: ./pw.txt\n") == ""


@pytest.mark.parametrize(("text", "said"), [
    ("services:\n  app:\n    image: x\n   bad-indent: 1\n", "not valid YAML"),
    ("services:\n  app:\n    image: x\n    heathcheck: {}\n", "heathcheck"),
    ("version: '3'\n", "no services"),
    ("services:\n  app:\n    image: x\n    env_file: [missing.env]\n", "missing.env"),
])
def test_files_compose_rejects_get_its_words(tmp_path: Path, text: str, said: str) -> None:
    (tmp_path / "compose.yaml").write_text(text)
    with pytest.raises(SubmissionError) as caught:
        compose_model.load(tmp_path)
    assert said in caught.value.message and caught.value.hint


def test_the_grader_runs_a_contained_copy(tmp_path: Path) -> None:
    compose = stack(tmp_path, "    container_name: fixed\n    ports: ['8000:8000']\n    build: .\n"
                              "    healthcheck: {test: [CMD, 'true'], interval: 30s}\n    mem_limit: 256m\n    volumes: [data:/data]",
                    "volumes:\n  data:\n    name: shared-data\n")
    model = compose_model.effective(compose, "lab", "run1", Limits())
    app = model["services"]["app"]
    assert model["name"] == "mastery-lab-run1"
    assert "container_name" not in app and app["image"] == "mastery-grade/lab-app:run1"
    assert app["ports"][0]["host_ip"] == "127.0.0.1" and app["ports"][0]["published"] == ""
    assert app["labels"]["io.mastery.run"] == "run1"
    assert app["healthcheck"]["interval"] == "500ms" and app["healthcheck"]["test"] == ["CMD", "true"]
    assert app["pids_limit"] == Limits().pids and "name" not in model["volumes"]["data"]
    assert compose_model.declared_memory(compose.service("app")) == 256 * 1024 * 1024
    assert "mem_limit" not in compose.service("app") or compose.service("app")["mem_limit"] != Limits().memory_bytes

"""A submitted stack is read by Compose itself and judged against an allow-list: whatever the course does not
teach is refused with the service, the key and the reason, before anything is built or started. Files
Compose would read are judged before it reads them. No engine is needed: `docker compose config` only
reads files."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import compose_model, engine, front
from graders.build import compose_build_flags
from graders.compose_model import Refused
from graders.compose_policy import refusals
from graders.errors import SubmissionError
from graders.limits import Limits

BASE = """services:
  app:
    image: python:3.13-slim
{extra}
"""


def stack(tmp_path: Path, extra: str, top: str = "") -> compose_model.ComposeModel:
    (tmp_path / "Dockerfile").write_text("FROM python:3.13-slim\n")
    (tmp_path / "compose.yaml").write_text(BASE.format(extra=extra) + top)
    return compose_model.load(tmp_path)


def refused(tmp_path: Path, extra: str, top: str = "") -> str:
    """Every reason given, whether before Compose read the file (Refused) or after."""
    try:
        compose = stack(tmp_path, extra, top)
    except Refused as exc:
        return exc.message
    return " ".join(refusals(compose, tmp_path, Limits().max_replicas))


@pytest.mark.parametrize(("extra", "reason"), [
    ("    privileged: true", "`privileged: true` gives the container the whole host"),
    ("    network_mode: host", "`network_mode: host`"),
    ("    network_mode: bridge", "`network_mode: bridge`"),
    ("    network_mode: container:other", "`network_mode: container:other`"),
    ("    pid: host", "`pid: host`"),
    ("    ipc: host", "`ipc: host`"),
    ("    uts: host", "`uts: host`"),
    ("    userns_mode: host", "`userns_mode: host`"),
    ("    cgroup: host", "`cgroup: host`"),
    ("    cap_add: [SYS_ADMIN]", "SYS_ADMIN"),
    ("    cap_add: [ALL]", "ALL"),
    ("    cap_add: [LINUX_IMMUTABLE]", "LINUX_IMMUTABLE"),  # files teardown could not delete
    ("    cap_add: [cap_net_admin]", "NET_ADMIN"),
    ("    security_opt: [seccomp:unconfined]", "only no-new-privileges is allowed"),
    ("    security_opt: ['seccomp=./profile.json']", "only no-new-privileges is allowed"),
    ("    security_opt: ['apparmor=unconfined']", "only no-new-privileges is allowed"),
    ("    security_opt: ['label=disable']", "only no-new-privileges is allowed"),
    ("    devices: [/dev/sda:/dev/sda]", "hands host devices over"),
    ("    device_cgroup_rules: ['c 1:3 mr']", "opens host devices"),
    ("    runtime: runsc", "another container runtime"),
    ("    cgroup_parent: /", "out of the engine's cgroups"),
    ("    volumes: [/var/run/docker.sock:/var/run/docker.sock]", "engine's socket"),
    ("    volumes: [/run/containerd/containerd.sock:/c.sock]", "engine's socket"),
    ("    volumes: [/etc:/host-etc:ro]", "outside your folder"),
    ("    volumes: [../:/up]", "outside your folder"),
    ("    volumes: ['~/.ssh:/keys']", "outside your folder"),
    ("    volumes: [{type: bind, source: ., target: /x, bind: {propagation: rshared}}]", "bind options propagation"),
    ("    volumes: [{type: npipe, source: //./pipe/docker_engine, target: /p}]", "mounts a `npipe`"),
    ("    volumes_from: ['container:abc']", "`volumes_from"),
    ("    extra_hosts: ['host.docker.internal:host-gateway']", "`extra_hosts"),
    ("    dns: [8.8.8.8]", "`dns"),
    ("    sysctls: {net.ipv4.ip_forward: 1}", "`sysctls"),
    ("    ulimits: {nproc: 1000000}", "`ulimits"),
    ("    oom_kill_disable: true", "keeps a memory hog alive"),
    ("    oom_score_adj: -1000", "`oom_score_adj"),
    ("    logging: {driver: syslog, options: {syslog-address: 'tcp://127.0.0.1:22'}}", "`syslog` driver"),
    ("    logging: {driver: json-file, options: {path: /etc/x}}", "options path"),
    ("    use_api_socket: true", "hands the container the Docker Engine"),
    ("    provider: {type: ./evil, options: {a: b}}", "run a program on the host"),
    ("    pre_stop: [{command: [rm, -rf, /data]}]", "teardown"),
    ("    post_start: [{command: [sleep, infinity]}]", "cannot time-limit"),
    ("    build: {context: ., tags: ['python:3.13-slim']}", "names the images it builds"),
    ("    build: {context: ., network: host}", "builds on the network `host`"),
    ("    build: {context: ., privileged: true}", "build.privileged"),
    ("    build: {context: ., ssh: [default]}", "build.ssh"),
    ("    build: {context: ., cache_to: ['type=local,dest=/tmp/x']}", "build.cache_to"),
    ("    build: {context: ., additional_contexts: {etc: /etc}}", "build.additional_contexts"),
    ("    build: {context: ., dockerfile_inline: 'FROM scratch'}", "build.dockerfile_inline"),
    ("    deploy: {replicas: 100}", "100 replicas; the grader runs at most 5"),
    ("    scale: 50", "50 replicas"),
    ("    deploy: {resources: {reservations: {devices: [{driver: x, capabilities: [tpu]}]}}}", "only GPUs"),
    ("    networks: {default: {ipv4_address: 172.30.0.9}}", "ipv4_address"),
    ("    pull_policy: always", "`pull_policy: always`"),
    ("    restart: sometimes", "restart policy"),
    ("    build: /", "is outside your folder"),
    ("    build: {context: ., dockerfile: ../../etc/passwd}", "is outside your folder; name a file inside the build context"),
    ("    build: {context: ., dockerfile: '${DF}'}", "uses a variable"),
    ("    build: {context: 'https://github.com/x/y.git'}", "is outside your folder"),
    ("    env_file: [/etc/environment]", "is outside your folder"),
    ("    env_file: [../other/.env]", "is outside your folder"),
    ("    env_file: [{path: '${HOME}/.env', required: false}]", "uses a variable"),
    ("    extends: {file: ../other/compose.yaml, service: db}", "pulls in another file"),
])
def test_what_the_allow_list_does_not_admit_is_refused_with_the_reason(tmp_path: Path, extra: str, reason: str) -> None:
    said = refused(tmp_path, extra)
    assert reason in said, said
    assert "service `app`" in said or "`build" in said or "env_file" in said, said


def test_a_file_outside_the_folder_is_never_read(tmp_path: Path) -> None:
    """The grader refuses before Compose runs, so the secret file's content appears nowhere."""
    outside = tmp_path / "other-project"
    outside.mkdir()
    (outside / ".env").write_text("POSTGRES_PASSWORD=instructor-secret\n")
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "compose.yaml").write_text("services:\n  app:\n    image: x\n    env_file: [../other-project/.env]\n")
    with pytest.raises(Refused) as caught:
        compose_model.load(folder)
    assert "instructor-secret" not in caught.value.message and "../other-project/.env" in caught.value.message


def test_include_is_refused_before_compose_reads_it(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("include: [/etc/compose.yaml]\nservices:\n  app:\n    image: x\n")
    with pytest.raises(Refused) as caught:
        compose_model.load(tmp_path)
    assert "`include:`" in caught.value.message


def test_a_variable_without_a_value_does_not_get_the_graders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "s3cret")
    (tmp_path / ".env").write_text("FROM_DOTENV=yes\n")
    compose = stack(tmp_path, "    environment: [INSTRUCTOR_TOKEN, HOME, PATH, FROM_DOTENV, 'SET=${INSTRUCTOR_TOKEN:-none}']\n"
                              "    build: {context: ., args: [HOME, INSTRUCTOR_TOKEN]}")
    env = compose.service("app")["environment"]
    assert env["SET"] == "none" and env["FROM_DOTENV"] == "yes"
    assert env["INSTRUCTOR_TOKEN"] is None and env["HOME"] is None and env["PATH"] is None
    assert set(compose.service("app")["build"]["args"].values()) == {None}
    model = compose_model.effective(compose, "lab", "run1", Limits(), front_image="python:3.13-slim")
    app = model["services"]["app"]
    assert set(app["environment"]) == {"SET", "FROM_DOTENV"} and "build" not in app  # the grader builds it
    assert compose_build_flags(compose.service("app")["build"]) == []  # no --build-arg with the grader's values
    assert "s3cret" not in str(model)


def test_a_writable_bind_mount_may_not_hold_another_mounts_source(tmp_path: Path) -> None:
    """One container could swap ./data for a link to / before the next one mounts it."""
    (tmp_path / "data").mkdir()
    (tmp_path / "key.txt").write_text("k\n")
    said = refused(tmp_path, "    volumes: ['.:/work', './data:/data']\n  b:\n    image: x\n    secrets: [k]",
                   "secrets:\n  k:\n    file: ./key.txt\n")
    assert "writable bind mount of . holds" in said and "./data" in said and "secret `k`" in said
    assert refused(tmp_path, "    volumes: ['.:/work:ro', './data:/data']") == ""
    assert refused(tmp_path, "    volumes: ['./data:/data', './key.txt:/key.txt:ro']") == ""


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
    model = compose_model.effective(compose, "lab", "run1", Limits(), front_image="python:3.13-slim")
    app = model["services"]["app"]
    assert model["name"] == "mastery-lab-run1"
    assert "container_name" not in app and app["image"] == "mastery-grade/lab-app:run1"
    # No fixed port, and none on the learner's container: the grader's front publishes an ephemeral one where this
    # machine reaches the engine's ports (loopback for a local engine, the course engine's bridge address).
    assert "ports" not in app and front.forwards_of(model["services"][front.FRONT]) == [front.Forward("app", 8000, front.FIRST_PORT)]
    assert model["services"][front.FRONT]["ports"][0]["host_ip"] == engine.site().publish_on
    assert model["services"][front.FRONT]["ports"][0]["published"] == ""
    assert app["labels"]["io.mastery.run"] == "run1"
    assert app["healthcheck"]["interval"] == "500ms" and app["healthcheck"]["test"] == ["CMD", "true"]
    assert app["pids_limit"] == Limits().pids and "name" not in model["volumes"]["data"]
    assert compose_model.declared_memory(compose.service("app")) == 256 * 1024 * 1024
    assert "mem_limit" not in compose.service("app") or compose.service("app")["mem_limit"] != Limits().memory_bytes


@pytest.mark.parametrize(("extra", "top", "said"), [
    ("", f"  {front.FRONT}:\n    image: python:3.13-slim\n", f"the name `{front.FRONT}` is the grader's own"),
    ("    networks: [mastery-ingress]", "networks:\n  mastery-ingress: {}\n", "the name `mastery-ingress` is the grader's own"),
])
def test_the_names_of_the_graders_front_are_not_a_learners(tmp_path: Path, extra: str, top: str, said: str) -> None:
    """A service or network of the learner's named as the grader's front would take its place in the stack."""
    assert said in refused(tmp_path, extra, top)

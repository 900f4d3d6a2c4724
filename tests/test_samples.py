"""Every code sample in the course is a real file, validated by what it is.

Dockerfiles are parsed and linted, compose files go through `docker compose config`, Kubernetes
manifests are checked against the API schemas, workflows against GitHub's schema, Python compiles,
shell parses. A sample meant to be wrong (`wrong-*`) is declared in its folder's `samples.toml` with
the output that proves it wrong, and the page quotes that output. Samples a learner is told to build
are built and run on the engine (engine-marked).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import pytest
import requests

from graders.build import build_image
from graders.container import engine_host
from graders.dockerfile_model import parse_dockerfile
from graders.errors import BuildFailed, SubmissionError
from graders.spec import REPO_ROOT

SAMPLES = REPO_ROOT / "course" / "samples"
BIN = Path(sys.executable).parent
OFFLINE_BASES = {"python:3.13-slim", "python:3.11-slim", "debian:bookworm-slim", "debian:trixie-slim", "scratch"}
SAMPLE_LABEL = "io.mastery.sample"


@dataclass(frozen=True)
class Sample:
    path: Path
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def rel(self) -> str:
        return str(self.path.relative_to(REPO_ROOT))

    @property
    def wrong(self) -> bool:
        return self.path.name.startswith("wrong-")

    @property
    def kind(self) -> str:
        name = self.path.name
        if name == "Dockerfile" or name.endswith(".Dockerfile"):
            return "dockerfile"
        if re.fullmatch(r"(compose(\..+)?|.+\.compose)\.ya?ml", name):
            return "compose"
        if name.endswith(".k8s.yaml"):
            return "k8s"
        if name.endswith(".workflow.yml"):
            return "workflow"
        if name.endswith(".py"):
            return "python"
        if name == "daemon.json" or name.endswith(".daemon.json") or re.fullmatch(r"daemon-.+\.json", name):
            return "daemon"
        if name.endswith(".sh"):
            return "shell"
        if re.fullmatch(r"requirements.*\.txt", name):
            return "requirements"
        return "other"


def load_samples() -> list[Sample]:
    out = []
    for path in sorted(SAMPLES.rglob("*")):
        if not path.is_file() or path.name == "samples.toml" or "__pycache__" in path.parts:
            continue
        specs_file = path.parent / "samples.toml"
        specs = tomllib.loads(specs_file.read_text()) if specs_file.exists() else {}
        out.append(Sample(path, specs.get(path.name, {})))
    return out


ALL = load_samples()
VALIDATED = [s for s in ALL if s.kind != "other"]
PAGES = {p: p.read_text(encoding="utf-8") for p in (REPO_ROOT / "course").rglob("*.md")}


def run(argv: list[str], cwd: Path | None = None, timeout: float = 120,
        env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def validate(sample: Sample) -> tuple[bool, str]:
    """(passes, what the validator printed)."""
    path = sample.path
    match sample.kind:
        case "dockerfile":
            try:
                df = parse_dockerfile(path)
            except SubmissionError as exc:
                return False, exc.message
            code, out = run([str(BIN / "hadolint"), "--failure-threshold", "warning", str(path)])
            if code != 0:
                return False, out
            if not sample.spec.get("show_only"):
                stages = {s.name for s in df.stages if s.name}
                foreign = [s.base for s in df.stages if s.base not in OFFLINE_BASES | stages and "$" not in s.base]
                if foreign:
                    return False, f"base image(s) {foreign} cannot be built offline: mark the sample show_only"
            return True, out
        case "compose":
            if shutil.which("docker") is None:
                pytest.skip("no docker CLI to run `docker compose config`")
            code, out = run(["docker", "compose", "-f", path.name, "config", "--quiet"], cwd=path.parent)
            return code == 0 and "WARN" not in out and "warning" not in out.lower(), out
        case "k8s":
            code, out = run([str(BIN / "kubernetes-validate"), "--strict", "--quiet", str(path)])
            return code == 0, out
        case "workflow":
            code, out = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)])
            return code == 0, out
        case "python":
            try:
                compile(path.read_text(encoding="utf-8"), str(path), "exec")
            except SyntaxError as exc:
                return False, f"{type(exc).__name__}: {exc}"
            return True, ""
        case "daemon":
            if sample.wrong and sample.spec.get("fails_at") == "run":
                return True, "judged by dockerd itself (test_daemon_config_passes_the_course_engines_own_validation)"
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                return False, f"not JSON: {exc}"
            return True, ""
        case "shell":
            code, out = run(["bash", "-n", str(path)])
            return code == 0, out
        case "requirements":
            loose = [line for line in path.read_text().splitlines()
                     if line.strip() and not line.startswith("#") and "==" not in line]
            return not loose, f"unpinned: {loose}" if loose else ""
    return True, ""


@pytest.mark.parametrize("sample", [s for s in VALIDATED if not s.wrong], ids=lambda s: s.rel)
def test_sample_is_valid(sample: Sample) -> None:
    ok, output = validate(sample)
    assert ok, f"{sample.rel} fails its validator:\n{output}"


WRONG = [s for s in ALL if s.wrong]


@pytest.mark.parametrize("sample", WRONG, ids=lambda s: s.rel)
def test_wrong_sample_is_declared_and_quoted(sample: Sample) -> None:
    spec = sample.spec
    assert spec.get("fails_at") in {"static", "build", "run", "test"}, \
        f"declare {sample.path.name} in {sample.path.parent.name}/samples.toml with fails_at and fails_with"
    if spec["fails_at"] == "test":
        module, _, name = spec["test"].partition("::")
        assert f"def {name}(" in (REPO_ROOT / module).read_text(), f"{spec['test']} does not exist"
        return
    quoting = [p for p, text in PAGES.items() if sample.rel in text and spec["fails_with"] in text]
    assert quoting, f"the page showing {sample.rel} must quote what goes wrong: {spec['fails_with']!r}"


@pytest.mark.parametrize("sample", [s for s in WRONG if s.spec.get("fails_at") == "static"], ids=lambda s: s.rel)
def test_wrong_sample_fails_its_validator_as_the_page_says(sample: Sample) -> None:
    ok, output = validate(sample)
    assert not ok, f"{sample.rel} is meant to be wrong, yet its validator passes it"
    assert sample.spec["fails_with"] in output, f"{sample.rel}: expected {sample.spec['fails_with']!r} in:\n{output}"


def test_every_sample_is_used() -> None:
    built = {s.path.parent for s in ALL if s.spec.get("build") or s.spec.get("fails_at") in {"build", "run"}}
    used_text = "\n".join(PAGES.values()) + "\n".join(
        s.path.read_text(errors="replace") for s in ALL if s.kind != "other" or s.path.suffix in {".env", ".txt"})
    unused = [s.rel for s in ALL if s.rel not in used_text and s.path.name not in used_text and s.path.parent not in built]
    assert not unused, f"sample files no page includes and no sample uses: {unused}"


def test_samples_toml_names_existing_files() -> None:
    for specs_file in SAMPLES.rglob("samples.toml"):
        for name in tomllib.loads(specs_file.read_text()):
            assert (specs_file.parent / name).is_file(), f"{specs_file.relative_to(REPO_ROOT)} names a missing {name}"


# --- Engine: build and run what a learner is told to build, and the samples that fail on the engine.

ENGINE_SAMPLES = [s for s in ALL if s.kind == "dockerfile" and not s.spec.get("show_only")
                  and (s.spec.get("build") or s.spec.get("fails_at") in {"build", "run"})]


@contextlib.contextmanager
def built(sample: Sample) -> Any:
    from graders.engine import client

    tag = f"mastery-sample/{sample.path.parent.name}:{sample.path.name.lower().replace('.', '-')}"
    df = parse_dockerfile(sample.path)
    result = build_image(sample.path.parent, sample.path, tag, {SAMPLE_LABEL: "1"}, timeout_s=600,
                         buildkit=df.needs_buildkit)
    try:
        yield result
    finally:
        with contextlib.suppress(Exception):
            client().images.remove(tag, noprune=True)


def _call_line(index: int, status: int, answer: Any) -> str:
    return f"CALL {index} HTTP {status} {json.dumps(answer, sort_keys=True)}"


def _calls(base: str, calls: list[dict[str, Any]]) -> str:
    """Send the requests the page shows (`http.calls` in samples.toml) to a server that answers; one line each."""
    lines = []
    for index, call in enumerate(calls):
        try:
            response = requests.request(call.get("method", "POST"), base + call["path"], json=call.get("json"), timeout=10)
            answer: Any = response.json()
        except (requests.RequestException, ValueError) as exc:
            lines.append(f"CALL {index} failed: {type(exc).__name__}: {exc}")
            continue
        lines.append(_call_line(index, response.status_code, answer))
    return "".join(line + "\n" for line in lines)


def run_sample(sample: Sample, tag: str) -> str:
    """Run the image as the page says; return what it printed (and for servers, what the probe saw)."""
    from graders.engine import client, site

    http = sample.spec.get("http")
    # The image's own HEALTHCHECK, probed every 0.5 s instead of its declared interval.
    container = client().containers.create(tag, labels={SAMPLE_LABEL: "1"}, mem_limit="1g",
                                           healthcheck={"interval": 500_000_000},
                                           ports={f"{http['port']}/tcp": (site().publish_on,)} if http else None)
    try:
        try:
            container.start()
        except docker.errors.APIError as exc:  # e.g. the CMD's program is not in the image
            return f"could not start: {exc.explanation or exc}"
        if not http:
            status = container.wait(timeout=180)
            return f"exit {status.get('StatusCode')}\n" + container.logs().decode(errors="replace")
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"][f"{http['port']}/tcp"][0]["HostPort"]
        deadline, seen = time.monotonic() + 45, "no answer"
        expected_fault = sample.spec.get("fails_with")
        while time.monotonic() < deadline:
            if expected_fault and not sample.spec.get("wait_health") and expected_fault in container.logs().decode(errors="replace"):
                break  # the fault the page describes has shown itself
            try:
                response = requests.get(f"http://{engine_host()}:{port}{http['path']}", timeout=3)
                seen = f"HTTP {response.status_code}"
                if response.status_code == http.get("status", 200):
                    break
            except requests.RequestException as exc:
                seen = f"no answer ({type(exc).__name__})"
            time.sleep(0.5)
        health: list[dict[str, Any]] = []
        while time.monotonic() < deadline + 15:
            container.reload()
            health = (container.attrs["State"].get("Health") or {}).get("Log") or []
            if health or not sample.spec.get("wait_health"):
                break
            time.sleep(0.5)
        probes = "\n".join((p.get("Output") or "") for p in health)
        answers = _calls(f"http://{engine_host()}:{port}", http.get("calls", [])) if seen == f"HTTP {http.get('status', 200)}" else ""
        return f"{seen}\n{answers}{container.logs().decode(errors='replace')}\n{probes}"
    finally:
        container.remove(force=True)


@pytest.mark.engine
@pytest.mark.slow
@pytest.mark.parametrize("sample", ENGINE_SAMPLES, ids=lambda s: s.rel)
def test_sample_builds_and_runs_as_the_page_says(sample: Sample) -> None:
    from graders import engine

    spec = sample.spec
    if spec.get("fails_at") and not engine.buildkit_by_default():
        pytest.skip(f"the pages quote what the course engine (Engine 28, BuildKit) prints; this engine is "
                    f"{engine.major_version()}.x, whose messages differ: run with MASTERY_ENGINE=course")
    if spec.get("fails_at") == "build":
        with pytest.raises(BuildFailed) as failure, built(sample):
            pass
        assert spec["fails_with"] in failure.value.message + failure.value.log_tail
        return
    with built(sample) as image:
        output = run_sample(sample, image.tag)
    if spec.get("fails_at") == "run":
        assert spec["fails_with"] in output, output
    elif spec.get("http"):
        assert output.startswith(f"HTTP {spec['http'].get('status', 200)}"), output
        for index, call in enumerate(spec["http"].get("calls", [])):  # the answers the page quotes
            assert _call_line(index, call.get("status", 200), call["answer"]) in output, output
    elif "run_expect" in spec:
        assert output.startswith("exit 0") and spec["run_expect"] in output, output


def test_highlighted_lines_of_an_included_sample_exist_and_are_not_blank() -> None:
    """`hl_lines` counts lines of the included file: when a sample gains a line, the highlight slides onto the wrong
    one. A missing line, or a highlight that falls mostly on blank lines, is the sure sign of it."""
    wrong = []
    for page, text in PAGES.items():
        lines = text.splitlines()
        for at, line in enumerate(lines):
            marks = re.search(r'hl_lines="([0-9 ]+)"', line)
            include = next((re.search(r'--8<-- "([^"]+)"', x) for x in lines[at + 1:at + 3] if "--8<--" in x), None)
            if not marks or not include:
                continue
            sample = (REPO_ROOT / include[1]).read_text(encoding="utf-8").splitlines()
            numbers = [int(n) for n in marks[1].split()]
            wrong += [f"{page.name}:{at + 1} line {n} of {include[1]}: no such line" for n in numbers if n > len(sample)]
            blank = [n for n in numbers if n <= len(sample) and not sample[n - 1].strip()]
            if len(blank) * 2 > len(numbers):  # one blank line in a highlighted block is fine; mostly blank is a slide
                wrong.append(f"{page.name}:{at + 1} lines {blank} of {include[1]} are blank")
    assert not wrong, wrong


DAEMON_CONFIGS = [s for s in ALL if s.kind == "daemon"]


@pytest.mark.engine
@pytest.mark.parametrize("sample", DAEMON_CONFIGS, ids=lambda s: s.rel)
def test_daemon_config_passes_the_course_engines_own_validation(sample: Sample) -> None:
    """`dockerd --validate` of the course's Engine 28 reads the file as the daemon would at start, as systemd starts it
    (`-H fd://`): an unknown key, a wrong type, a setting that is also a flag or a TLS file that does not load fails
    it. A `wrong-*` sample must fail it with the message its page quotes. Run in a throwaway container of the course engine's image
    on the host's engine; a sample that names the certificates a script of its folder makes gets them made first."""
    from graders.course_engine import control, recipe

    ref = recipe.image_ref()
    env = control.host_env()
    if run(["docker", "image", "inspect", ref], env=env)[0] != 0:
        pytest.skip(f"the course engine's image {ref} is not on this host's engine: run `mastery engine start`")
    folder = f"/samples/{sample.path.parent.name}"
    script = sample.spec.get("certs_from")
    certs = f"mkdir -p /etc/docker/tls && cd /etc/docker/tls && bash {folder}/{script} localhost >/dev/null 2>&1 && " \
        if script else ""
    flags = "" if sample.spec.get("hosts_in_file") else " -H fd://"  # its page drops the service's -H flag
    code, out = run(["docker", "run", "--rm", "--network", "none", "--label", f"{SAMPLE_LABEL}=1",
                     "-v", f"{SAMPLES}:/samples:ro", "--entrypoint", "sh", ref, "-c",
                     f"{certs}dockerd --validate --config-file {folder}/{sample.path.name}{flags}"], env=env, timeout=180)
    if sample.wrong:  # the engine refuses it, with the message the page quotes
        assert code != 0 and sample.spec["fails_with"] in out, out
    else:
        assert code == 0 and "configuration OK" in out, out


COMPOSE_UP = [s for s in ALL if s.kind == "compose" and s.spec.get("up")]


def loopback_status(port: int, path: str) -> int | str:
    """The HTTP status at 127.0.0.1:PORT of the engine's machine, where the lessons publish: from here for an
    engine on this machine; for the course engine (its own loopback, which this machine cannot reach), from a
    container on the engine's host network."""
    url = f"http://127.0.0.1:{port}{path}"
    if engine_host() == "127.0.0.1":
        return requests.get(url, timeout=10).status_code
    code, out = run(["docker", "run", "--rm", "--network", "host", "--label", f"{SAMPLE_LABEL}=1", "python:3.13-slim",
                     "python", "-c", "import sys, urllib.request, urllib.error\n"
                     "try: print(urllib.request.urlopen(sys.argv[1], timeout=10).status)\n"
                     "except urllib.error.HTTPError as e: print(e.code)", url])
    return int(out.splitlines()[-1]) if code == 0 and out.splitlines()[-1].isdigit() else out


@pytest.mark.engine
@pytest.mark.slow
@pytest.mark.parametrize("sample", COMPOSE_UP, ids=lambda s: s.rel)
def test_compose_sample_comes_up_and_leaves_nothing(sample: Sample) -> None:
    from graders.engine import client

    project = f"mastery-sample-{sample.path.parent.name}"
    base = ["docker", "compose", "-p", project, "-f", sample.path.name]
    try:
        code, out = run([*base, "up", "-d", "--build", "--wait", "--wait-timeout", "180"], cwd=sample.path.parent,
                        timeout=600)
        assert code == 0, out
        probe = sample.spec.get("http")
        if probe:
            status = loopback_status(probe["port"], probe["path"])
            assert status == probe.get("status", 200), f"GET {probe['path']} on 127.0.0.1:{probe['port']}: {status}"
    finally:
        run([*base, "down", "--volumes", "--rmi", "local", "--remove-orphans"], cwd=sample.path.parent, timeout=300)
    flt = {"label": f"com.docker.compose.project={project}"}
    assert not client().containers.list(all=True, filters=flt)
    assert not client().volumes.list(filters=flt)
    assert not client().networks.list(filters=flt)

"""A GitHub Actions workflow, read and interpreted, never executed: what each step of each job would do.

A learner's workflow is untrusted. The grader runs none of its shell: it reads the steps in the order GitHub
would run them and turns the few it understands into its own actions (graders/kinds/workflow.py carries them
out with its own limits):
- `docker/build-push-action`, and a `run:` line `docker build` / `docker buildx build`, become a build;
- a `run:` line `docker run [OPTIONS] IMAGE COMMAND...` becomes a test, run without network or mounts;
- a push (`push: true`, `--push`, `docker push`) is recorded with its place and its `if:`, never performed;
- checkout, Buildx, QEMU, login and metadata actions are what a local engine does not need (noted);
- a scan (Trivy, Grype, Docker Scout) is noted; every other command is not run, and the message says so.
Everything here is pure: it reads a mapping and says what it found.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from graders.errors import SubmissionError

WORKFLOW = ".github/workflows/ci.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SHELL_VARS = {"GITHUB_SHA": "github.sha", "GITHUB_REF": "github.ref", "GITHUB_REF_NAME": "github.ref_name",
              "GITHUB_REPOSITORY": "github.repository"}
SCANNERS = ("aquasecurity/trivy-action", "anchore/scan-action", "docker/scout-action", "snyk/actions/docker",
            "anchore/sbom-action")
SCAN_COMMANDS = re.compile(r"^(trivy\s+(image|fs)|grype\b|docker\s+scout\s+(cves|quickview|recommendations))")
NOOP_ACTIONS = {"actions/checkout": "the grader already has your files",
                "docker/setup-buildx-action": "the grader builds with its own builder",
                "docker/setup-qemu-action": "the grader builds for its own platform only",
                "docker/login-action": "nothing is pushed, so no registry is logged in to",
                "docker/metadata-action": "its tags are read from its `tags` input"}
# `docker run` options that take a value, and those of them the grader never gives a test container.
RUN_VALUE_OPTIONS = {"-e", "--env", "-w", "--workdir", "-u", "--user", "--name", "--entrypoint", "-v", "--volume",
                     "--mount", "--network", "--net", "-p", "--publish", "--cap-add", "--device", "--gpus", "--ipc",
                     "--pid", "--security-opt", "--env-file", "--label", "-l", "--platform", "-m", "--memory",
                     "--cpus", "--hostname", "-h", "--add-host", "--tmpfs", "--shm-size"}
RUN_NOT_GIVEN = {"-v", "--volume", "--mount", "--network", "--net", "-p", "--publish", "--cap-add", "--device",
                 "--gpus", "--ipc", "--pid", "--security-opt", "--env-file", "--privileged", "--add-host", "--tmpfs"}
SHELL_OPERATORS = {"||", "|", ">", ">>", "&", "2>&1", "2>"}  # what ends a `docker run` line's command
BUILD_VALUE_OPTIONS = {"-t", "--tag", "-f", "--file", "--cache-from", "--cache-to", "-o", "--output", "--platform",
                       "--build-arg", "--target", "--progress", "--label", "--secret", "--ssh", "--builder",
                       "--network", "--iidfile", "--metadata-file", "--provenance", "--sbom", "--attest",
                       "--build-context", "--shm-size"}


@dataclass(frozen=True)
class Step:
    job: str
    number: int  # 1-based, within its job
    data: dict[str, Any]

    @property
    def uses(self) -> str:
        return str(self.data.get("uses") or "")

    @property
    def action(self) -> str:
        """`owner/repo` of what it uses, lower case, without the version."""
        return self.uses.split("@")[0].lower()

    @property
    def inputs(self) -> dict[str, Any]:
        given = self.data.get("with")
        return given if isinstance(given, dict) else {}

    @property
    def where(self) -> str:
        run = str(self.data.get("run") or "").strip().splitlines()
        name = str(self.data.get("name") or self.uses or (run[0] if run else ""))
        return f"job `{self.job}`, step {self.number} (`{name[:60]}`)"


@dataclass(frozen=True)
class Action:
    """What the grader makes of one step, or of one command of a `run:` step."""

    kind: str  # build | test | push | scan | noop | not-run
    step: Step
    text: str = ""  # the command as written, or the action used
    context: str = "."
    dockerfile: str = ""  # relative to the repository; "" = the context's Dockerfile
    tags: tuple[str, ...] = ()
    loads: bool = True  # a Buildx build without --load / load: true leaves the image in the builder
    pushes: bool = False  # a build that pushes too (`push: true`, `--push`): recorded, never performed
    buildx: bool = False
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # --target and --build-arg, passed to the grader's build
    image: str = ""  # what a test runs, or a push pushes
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    workdir: str = ""
    user: str = ""
    entrypoint: str = ""
    note: str = ""  # what the grader did not do as written


@dataclass(frozen=True)
class StepResult:
    """What became of one action when the grader carried the workflow out."""

    action: Action
    status: str  # built | reused | passed | failed | not-reached | noted
    message: str
    output: str = ""


@dataclass
class Workflow:
    data: dict[str, Any]
    schema_problems: list[str]
    jobs: list[str]  # in the order GitHub could run them: each after the jobs it needs
    needs: dict[str, set[str]]  # every job each job waits for, transitively
    actions: list[Action] = field(default_factory=list)

    def of(self, *kinds: str) -> list[Action]:
        return [a for a in self.actions if a.kind in kinds]

    @property
    def pushes(self) -> list[Action]:
        """Every push: `docker push`, and builds that push as well."""
        return [a for a in self.actions if a.kind == "push" or (a.kind == "build" and a.pushes)]

    def job(self, name: str) -> dict[str, Any]:
        job = self.data.get("jobs", {}).get(name)
        return job if isinstance(job, dict) else {}

    def before(self, earlier: Action, later: Action) -> bool:
        """Whether `earlier` is sure to have run, and succeeded, before `later` starts: earlier in the same job, or in a
        job that `later`'s job needs. Jobs that do not need each other run side by side."""
        if earlier.step.job == later.step.job:
            return self.actions.index(earlier) < self.actions.index(later)
        return earlier.step.job in self.needs.get(later.step.job, set())


def normalized(text: str) -> str:
    """Expressions written `${{ github.sha }}`, `$GITHUB_SHA` or `${GITHUB_SHA}` all become `{github.sha}`, so that a
    tag a build gives and a `docker run` names compare as written."""
    text = EXPRESSION.sub(lambda m: "{" + m.group(1) + "}", text)
    for var, expr in SHELL_VARS.items():
        text = re.sub(r"\$\{?" + var + r"\b\}?", "{" + expr + "}", text)
    return text


def load(folder: Path) -> Workflow:
    """The workflow file, read and interpreted; SubmissionError when it is missing or not a workflow at all."""
    path = folder / WORKFLOW
    if not path.is_file():
        raise SubmissionError(f"There is no `{WORKFLOW}` in your folder.",
                              f"Write the workflow in `{WORKFLOW}` (the folder `.github/workflows/` is where GitHub looks).")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise SubmissionError(f"`{WORKFLOW}` is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}.",
                              "Indent with spaces, never tabs, and quote values that hold `: ` or start with `*`, "
                              "`&`, `{` or `[`.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict) or not data["jobs"]:
        raise SubmissionError(f"`{WORKFLOW}` holds no `jobs:` mapping, so GitHub would run nothing.",
                              "A workflow has `on:` (when it runs) and `jobs:` (what runs), each job with `runs-on:` "
                              "and `steps:`.")
    return interpret(data)


def interpret(data: dict[Any, Any]) -> Workflow:
    if True in data and "on" not in data:  # YAML 1.1 reads the key `on` as true
        data = {("on" if key is True else key): value for key, value in data.items()}
    jobs = {name: job for name, job in data["jobs"].items() if isinstance(job, dict)}
    direct = {name: set(_as_list(job.get("needs"))) & set(jobs) for name, job in jobs.items()}
    needs = {name: _closure(name, direct) for name in jobs}
    order: list[str] = []
    while len(order) < len(jobs):  # jobs as written, each after those it needs (a cycle: as written)
        ready = [n for n in jobs if n not in order and direct[n] <= set(order)] or [n for n in jobs if n not in order]
        order.append(ready[0])
    flow = Workflow(data, schema_problems(data), order, needs)
    for name in order:
        for number, step in enumerate(_as_list(jobs[name].get("steps")), start=1):
            if isinstance(step, dict):
                flow.actions += _step_actions(Step(name, number, step))
    return flow


def _closure(name: str, direct: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(direct.get(name, ()))
    while todo:
        job = todo.pop()
        if job not in seen:
            seen.add(job)
            todo += direct.get(job, ())
    return seen


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("github-workflows.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_problems(data: dict[str, Any]) -> list[str]:
    """What GitHub's workflow schema (the one check-jsonschema vendors) says is wrong, one sentence each."""
    # Imported here: jsonschema's format checkers compile dozens of grammars on import (2-3 s), which every
    # `mastery` command would pay for otherwise; only a workflow lab's grading needs it.
    import jsonschema  # type: ignore[import-untyped]

    validator = jsonschema.Draft7Validator(_schema())
    out = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        best = _deepest(error)
        at = ".".join(str(p) for p in best.absolute_path)
        out.append(f"{f'`{at}`' if at else 'the top level'}: {best.message[:200]}")
    return out


def _deepest(error: Any) -> Any:
    """Of an error and the reasons under it (each alternative a `oneOf` tried), the one deepest in the document:
    `jobs.test.timeout-minutes` says more than `jobs.test` is not a job."""
    best = error
    for reason in error.context or ():
        deeper = _deepest(reason)
        if len(deeper.absolute_path) > len(best.absolute_path):
            best = deeper
    return best


def _words(line: str) -> list[str] | None:
    try:
        return shlex.split(normalized(line), comments=True)
    except ValueError:
        return None


def commands(run: str) -> list[str]:
    """The commands of a `run:` script: its lines, with `\\` continuations joined and `&&` chains split."""
    joined = re.sub(r"\\\n\s*", " ", run)
    out = []
    for line in joined.splitlines():
        for part in re.split(r"\s&&\s|\s;\s", line):
            if part.strip() and not part.strip().startswith("#"):
                out.append(part.strip())
    return out


def _step_actions(step: Step) -> list[Action]:
    if step.uses:
        return [_uses_action(step)]
    run = step.data.get("run")
    if not isinstance(run, str):
        return [Action("noop", step, note="it neither uses an action nor runs a command")]
    return [_command_action(step, line) for line in commands(run)]


def _input_list(value: Any, separators: str = r"[\n,]") -> tuple[str, ...]:
    """An action input that is a list: one per line, or comma-separated (a cache's is one per line: its commas
    separate the attributes of one cache, `type=gha,mode=max`)."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else re.split(separators, str(value))
    return tuple(normalized(str(item).strip()) for item in items if str(item).strip())


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def _maybe(value: Any) -> bool:
    """Whether an input may be true: `true`, or an expression (`${{ github.ref == 'refs/heads/main' }}`)."""
    return _truthy(value) or "${{" in str(value)


def _uses_action(step: Step) -> Action:
    action = step.action
    if action == "docker/build-push-action":
        given = step.inputs
        flags: list[str] = []
        for arg in _input_list(given.get("build-args")):
            flags += ["--build-arg", arg]
        if given.get("target"):
            flags += ["--target", str(given["target"])]
        build = Action("build", step, step.uses, context=normalized(str(given.get("context") or ".")),
                       dockerfile=normalized(str(given.get("file") or "")), tags=_input_list(given.get("tags")),
                       loads=_truthy(given.get("load")), pushes=_maybe(given.get("push")), buildx=True,
                       cache_from=_input_list(given.get("cache-from"), "\n"),
                       cache_to=_input_list(given.get("cache-to"), "\n"), flags=tuple(flags))
        return build
    if action in SCANNERS or any(action.startswith(s + "/") for s in SCANNERS):
        return Action("scan", step, step.uses, note="the scan is not run: the grader notes that it is there")
    for known, why in NOOP_ACTIONS.items():
        if action == known:
            return Action("noop", step, step.uses, note=why)
    return Action("not-run", step, step.uses, note=f"the grader does not run `{step.uses}`")


def _command_action(step: Step, line: str) -> Action:
    words = _words(line)
    if not words:
        return Action("not-run", step, line, note="the grader could not read this line as a command")
    if SCAN_COMMANDS.match(" ".join(words)):
        return Action("scan", step, line, note="the scan is not run: the grader notes that it is there")
    if words[0] != "docker":
        return Action("not-run", step, line, note=f"the grader runs no command but `docker build`, `docker run` and "
                                                  f"`docker push`: `{line[:60]}` was not run")
    rest = words[1:]
    if rest[:2] in (["buildx", "build"], ["image", "build"]) or rest[:1] == ["build"]:
        buildx = rest[0] == "buildx"
        return _build_command(step, line, rest[2:] if rest[0] in ("buildx", "image") else rest[1:], buildx)
    if rest[:1] == ["run"] or rest[:2] == ["container", "run"]:
        return _run_command(step, line, rest[2:] if rest[0] == "container" else rest[1:])
    if rest[:1] == ["push"] or rest[:2] == ["image", "push"]:
        args = [w for w in (rest[2:] if rest[0] == "image" else rest[1:]) if not w.startswith("-")]
        return Action("push", step, line, tags=tuple(args[:1]), note="recorded, not performed")
    if rest[:1] in (["tag"], ["login"], ["logout"], ["version"], ["info"], ["images"]) or rest[:1] == ["buildx"]:
        return Action("noop", step, line, note="nothing to do on the grader's engine")
    return Action("not-run", step, line, note=f"the grader does not run `{line[:60]}`")


def _options(args: list[str], with_value: set[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(option, value) pairs up to the first positional word, and the words from there on."""
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        name, eq, value = args[i].partition("=")
        if not eq and name in with_value and i + 1 < len(args):
            value = args[i + 1]
            i += 1
        found.append((name, value))
        i += 1
    return found, args[i:]


def _build_command(step: Step, line: str, args: list[str], buildx: bool) -> Action:
    opts, positional = [], []
    rest = args
    while rest:  # a build's options may follow its context
        found, rest = _options(rest, BUILD_VALUE_OPTIONS)
        opts += found
        if rest:
            positional.append(rest[0])
            rest = rest[1:]

    def get(*names: str) -> tuple[str, ...]:
        return tuple(v for k, v in opts if k in names)

    flags: list[str] = []
    for arg in get("--build-arg"):
        flags += ["--build-arg", arg]
    for target in get("--target"):
        flags += ["--target", target]
    outputs = get("-o", "--output")
    loads = (not buildx) or bool(get("--load")) or any("type=docker" in o for o in outputs)
    build = Action("build", step, line, context=positional[0] if positional else ".",
                   dockerfile=(get("-f", "--file") or ("",))[0], tags=get("-t", "--tag"), loads=loads,
                   pushes=bool(get("--push")) or any("push=true" in o for o in outputs), buildx=buildx,
                   cache_from=get("--cache-from"), cache_to=get("--cache-to"), flags=tuple(flags))
    return build


def _run_command(step: Step, line: str, args: list[str]) -> Action:
    opts, rest = _options(args, RUN_VALUE_OPTIONS)
    if not rest:
        return Action("not-run", step, line, note="`docker run` names no image")
    shell = next((i for i, word in enumerate(rest) if word in SHELL_OPERATORS), None)
    after = " ".join(rest[shell:]) if shell is not None else ""
    rest = rest[:shell] if shell is not None else rest
    dropped = sorted({k for k, _ in opts if k in RUN_NOT_GIVEN})
    env = tuple(tuple(v.split("=", 1)) for k, v in opts if k in ("-e", "--env") and "=" in v)

    def last(*names: str) -> str:
        return next((v for k, v in reversed(opts) if k in names), "")

    note = (f"the grader gives a test container no {', '.join(f'`{d}`' for d in dropped)}: it runs with no network and "
            "no folder of the runner mounted" if dropped else "")
    if after:
        note = "; ".join(filter(None, (note, f"`{after[:40]}` after it is not run: the test's own exit code is judged")))
    return Action("test", step, line, image=rest[0], command=tuple(rest[1:]), env=env,  # type: ignore[arg-type]
                  workdir=last("-w", "--workdir"), user=last("-u", "--user"), entrypoint=last("--entrypoint"), note=note)

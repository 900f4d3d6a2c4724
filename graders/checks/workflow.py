"""CI workflow checks: GitHub's schema, then what a pipeline must do (build with Buildx and a cache, test inside the
image, scan it, push only tested images from main or a tag with the commit SHA) and what it must not (more token
permissions than it needs, actions that follow a branch). The build and the tests are judged from the grader's own
run of those steps (graders/kinds/workflow.py); each message names the job and the step."""

from __future__ import annotations

import re
from typing import Any

from graders.check_model import Check, Need, Outcome, Phase, judge
from graders.context import GradingContext
from graders.results import Category
from graders.workflow_model import WORKFLOW, Action, Workflow

SHOWN = 3  # problems quoted in one message; the rest are counted
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
VERSION_TAG = re.compile(r"^v?\d+(\.\d+){0,2}$")  # v4, v4.2.1, 0.33.1 (a release tag)
MAIN_OR_TAG = re.compile(r"github\.ref\s*==\s*'refs/heads/main'|github\.ref_name\s*==\s*'main'"
                         r"|startsWith\(\s*github\.ref\s*,\s*'refs/tags/|github\.ref_type\s*==\s*'tag'"
                         r"|github\.ref\s*==\s*format\(\s*'refs/heads/\{0\}'\s*,\s*github\.event\.repository\.default_branch")
# The writes a job may ask for: to push (packages; id-token and attestations to sign or attest what it pushes),
# and to upload a scan's findings (security-events).
PUSH_WRITES = {"packages", "id-token", "attestations"}
SCAN_WRITES = {"security-events"}
TEST_RUNNERS = re.compile(r"\b(unittest|pytest)\b")


def _judge(problems: list[str], passed: str, hint: str) -> Outcome:
    return judge(problems, passed, hint, SHOWN)


def _flow(ctx: GradingContext) -> Workflow:
    assert ctx.workflow is not None, "workflow checks run only once the workflow was read"
    return ctx.workflow


def workflow_valid(points: float, name: str = "workflow_valid") -> Check:
    """The workflow is one GitHub would run: its schema (as check-jsonschema vendors it) accepts it."""

    def run(ctx: GradingContext) -> Outcome:
        blocker = ctx.blockers.get(Phase.STATIC)
        if blocker is not None:
            return Outcome.failed(blocker.message, blocker.hint)
        flow = _flow(ctx)
        return _judge([f"`{WORKFLOW}` at {p}" for p in flow.schema_problems],
                      f"`{WORKFLOW}` validates against GitHub's workflow schema; jobs in order: "
                      f"{', '.join(flow.jobs)}.",
                      f"Fix each key named; `check-jsonschema --builtin-schema vendor.github-workflows {WORKFLOW}` "
                      "shows the same messages.")

    return Check(name, "The workflow is valid for GitHub Actions", points, Category.STATIC, (Need.WORKFLOW,), run,
                 tags=("workflow", "schema"), reports="parse")


def _uses(flow: Workflow) -> list[tuple[str, str]]:
    """(where, what) for every action and reusable workflow the workflow uses."""
    found = [(a.step.where, a.step.uses) for a in flow.actions if a.step.uses]
    found = list(dict.fromkeys(found))
    found += [(f"job `{name}`", str(flow.job(name)["uses"])) for name in flow.jobs if flow.job(name).get("uses")]
    return found


def pin_problem(uses: str) -> str | None:
    """Why a `uses:` reference may run other code tomorrow, or None when it is pinned."""
    if uses.startswith("./"):
        return None  # an action of the repository itself: it changes with the commit
    if uses.startswith("docker://"):
        image = uses.removeprefix("docker://")
        tagged = ":" in image.rsplit("/", 1)[-1]
        return None if "@sha256:" in image or (tagged and not image.endswith(":latest")) else "names a moving image"
    if "@" not in uses:
        return "has no version at all"
    ref = uses.rsplit("@", 1)[1]
    if FULL_SHA.match(ref) or VERSION_TAG.match(ref):
        return None
    return f"follows `{ref}`, a branch or a moving name"


def actions_pinned(points: float, name: str = "actions_pinned") -> Check:
    """Every action is pinned to a full commit SHA or a version tag; a branch (`@main`) runs whatever was pushed last."""

    def run(ctx: GradingContext) -> Outcome:
        flow = _flow(ctx)
        uses = _uses(flow)
        problems = [f"{where} uses `{ref}`, which {why}" for where, ref in uses if (why := pin_problem(ref))]
        return _judge(problems, f"All {len(uses)} actions used are pinned to a version or a commit SHA.",
                      "Pin each action to its major version (`actions/checkout@v6`) as the lesson does, or to a full "
                      "40-character commit SHA with the version in a comment; let Dependabot move them.")

    return Check(name, "Actions are pinned to a version or a commit SHA", points, Category.SECURITY,
                 (Need.WORKFLOW,), run, tags=("workflow", "supply-chain"))


def _writes(permissions: Any) -> set[str]:
    if permissions == "write-all":
        return {"write-all"}
    if isinstance(permissions, dict):
        return {str(scope) for scope, level in permissions.items() if str(level) == "write"}
    return set()


def _named(writes: set[str]) -> str:
    return ", ".join(f"`{w}: write`" if w != "write-all" else "`write-all`" for w in sorted(writes))


def least_privilege(points: float, name: str = "least_privilege") -> Check:
    """`permissions` at the top reads only; a job asks for `packages: write` only where it pushes (and
    `security-events: write` where it uploads a scan); nothing ever asks for `write-all`."""

    def run(ctx: GradingContext) -> Outcome:
        flow = _flow(ctx)
        top = flow.data.get("permissions")
        problems = []
        if top is None:
            problems.append(f"`{WORKFLOW}` has no top-level `permissions:`, so every job's token gets the "
                            "repository's default, which may write to everything")
        elif _writes(top):
            problems.append(f"the top-level `permissions:` grants {_named(_writes(top))} to every job, the "
                            "one that tests a pull request's code too")
        for job in flow.jobs:
            granted = _writes(flow.job(job).get("permissions"))
            pushes = any(a.step.job == job for a in flow.pushes)
            scans = any(a.step.job == job for a in flow.of("scan"))
            allowed = (PUSH_WRITES if pushes else set()) | (SCAN_WRITES if scans else set())
            extra = sorted(granted - allowed)
            if extra:
                why = "it pushes nothing" if not pushes else "pushing needs only `packages: write`"
                problems.append(f"job `{job}` asks for {_named(set(extra))}, and {why}")
        return _judge(problems, "The token reads only, but for the job that pushes "
                                "(`packages: write`) and nowhere `write-all`.",
                      "Put `permissions: {contents: read}` at the top of the workflow, and `packages: write` (with "
                      "`contents: read`) in the `permissions:` of the job that pushes, and nowhere else.")

    return Check(name, "The token has the least permissions that work", points, Category.SECURITY, (Need.WORKFLOW,),
                 run, tags=("workflow", "permissions"))


def builds_with_cache(points: float, name: str = "builds_with_cache") -> Check:
    """Builds go through Buildx (set up first) with `cache-from` on every build and `cache-to` on at least one, so a
    run reuses the layers the last run saved."""

    def run(ctx: GradingContext) -> Outcome:
        flow = _flow(ctx)
        builds = flow.of("build")
        problems = []
        for build in builds:
            where = build.step.where
            if not build.buildx:
                problems.append(f"{where} runs `{build.text[:60]}`, the classic builder, which has no cache export")
                continue
            setup = [a for a in flow.of("noop") if a.step.action == "docker/setup-buildx-action"
                     and a.step.job == build.step.job and flow.before(a, build)]
            if not setup:
                problems.append(f"job `{build.step.job}` builds in {where} without `docker/setup-buildx-action` "
                                "before it: the default builder cannot export a cache")
            if not build.cache_from:
                problems.append(f"{where} reads no cache (`cache-from`)")
        if builds and not any(b.cache_to for b in builds):
            problems.append("no build saves its layers (`cache-to`), so the next run has no cache to read")
        if not builds:
            problems.append(f"no step of `{WORKFLOW}` builds an image")
        return _judge(problems, f"{len(builds)} builds with Buildx, reading and saving a layer cache "
                                f"({', '.join(sorted({c for b in builds for c in b.cache_to}))}).",
                      "Add `docker/setup-buildx-action` before the build, and give `docker/build-push-action` "
                      "`cache-from: type=gha` and `cache-to: type=gha,mode=max` (`--cache-from`/`--cache-to` for "
                      "`docker buildx build`).")

    return Check(name, "Builds with Buildx and a layer cache", points, Category.BUILD, (Need.WORKFLOW,), run,
                 tags=("workflow", "cache"))


def image_builds(points: float, name: str = "image_builds") -> Check:
    """The workflow's builds, carried out by the grader on the engine (its limits, its tag), succeed."""

    def run(ctx: GradingContext) -> Outcome:
        blocker = ctx.blockers.get(Phase.BUILD)
        if blocker is not None:
            return Outcome.failed(blocker.message, blocker.hint)
        done = [r for r in ctx.workflow_run if r.action.kind == "build" and r.status in ("built", "reused")]
        notes = [r.message for r in ctx.workflow_run if r.action.kind == "build" and r.status != "not-reached"]
        if not done:
            return Outcome.failed(f"No build of `{WORKFLOW}` was reached.", "Build the image before anything else.")
        return Outcome.passed("; ".join(notes) + " (the grader built it with its own builder and limits; "
                                                 "`cache-from`/`cache-to` and pushes are not used here).")

    return Check(name, "The image builds", points, Category.BUILD, (Need.WORKFLOW_RUN,), run,
                 tags=("workflow",), reports="build")


def tests_pass_in_image(points: float, name: str = "tests_pass_in_image") -> Check:
    """A step runs the tests inside the built image (`docker run IMAGE python -m unittest`), and they pass: the
    grader runs that container itself, without network or mounts, and judges its exit code."""

    def run(ctx: GradingContext) -> Outcome:
        flow = _flow(ctx)
        tests = flow.of("test")
        if not tests:
            not_run = [a for a in flow.of("not-run") if TEST_RUNNERS.search(a.text)]
            seen = (f" {not_run[0].step.where} runs `{not_run[0].text[:60]}` on the runner, not in the image."
                    if not_run else "")
            return Outcome.failed(f"No step of `{WORKFLOW}` runs the tests inside the built image.{seen}",
                                  "Add a step after the build: `run: docker run --rm IMAGE python -m unittest -v`, "
                                  "with the name the build tagged.")
        problems = [f"{t.step.where} runs `{' '.join(t.command) or '(the image command)'}`, which runs no tests"
                    for t in tests if not TEST_RUNNERS.search(" ".join((t.entrypoint, *t.command)))]
        results = {id(r.action): r for r in ctx.workflow_run}
        for test in tests:
            result = results.get(id(test))
            if result is None or result.status != "passed":
                problems.append(result.message.rstrip(".") if result else f"{test.step.where} was not run")
        passed = "; ".join(results[id(t)].message for t in tests if id(t) in results)
        return _judge(problems, f"{passed}: the tests pass inside the image.",
                      "Run the same command yourself (`docker build -t IMAGE . && docker run --rm IMAGE python -m "
                      "unittest -v`) and fix what fails. The grader gives the test container no network and no "
                      "mounted folder: the tests must be in the image, as the Dockerfile copies them.")

    return Check(name, "The tests pass inside the built image", points, Category.BUILD, (Need.WORKFLOW, Need.WORKFLOW_RUN),
                 run, tags=("workflow", "tests"))


def scan_step(points: float, name: str = "scan_step") -> Check:
    """A step scans the built image for known vulnerabilities (Trivy, Grype, Docker Scout). Noted, not run."""

    def run(ctx: GradingContext) -> Outcome:
        flow = _flow(ctx)
        scans = flow.of("scan")
        after = [s for s in scans if any(flow.before(b, s) for b in flow.of("build"))]
        if after:
            return Outcome.passed(f"{after[0].step.where} scans the built image with `{after[0].text[:60]}` "
                                  "(noted: the grader does not run the scanner).")
        seen = (f" {scans[0].step.where} scans, but before any image is built in its job." if scans else "")
        return Outcome.failed(f"No step of `{WORKFLOW}` scans the image for known vulnerabilities.{seen}",
                              "After the build, add `aquasecurity/trivy-action` (`image-ref:` the tag you built, "
                              "`exit-code: '1'`, `severity: CRITICAL,HIGH`), `anchore/scan-action` or "
                              "`docker/scout-action`.")

    return Check(name, "The image is scanned", points, Category.SECURITY, (Need.WORKFLOW,), run,
                 tags=("workflow", "scan"))


def _only_main_or_tag(condition: str) -> bool:
    """Whether an `if:` holds only for main or a tag: every alternative of it (split at `||`) says so."""
    if not condition or "!=" in condition:
        return False
    return all(MAIN_OR_TAG.search(part) for part in condition.split("||"))


def _triggers_only_main_or_tags(on: Any) -> bool:
    """Whether the workflow runs only for a push to main or of a tag (a schedule runs on main too)."""
    if not isinstance(on, dict):
        return False
    if set(on) - {"push", "schedule"}:
        return False
    push = on.get("push")
    if not isinstance(push, dict) or not (push.get("branches") or push.get("tags")):
        return False
    branches = push.get("branches") or []
    return isinstance(branches, list) and set(map(str, branches)) <= {"main"}


def push_after_tests(points: float, name: str = "push_after_tests") -> Check:
    """Every push comes after the tests passed (later in the same job, or in a job that `needs:` the testing one) and
    happens only for main or a tag (its step's or job's `if:`, or the workflow's triggers)."""

    def run(ctx: GradingContext) -> Outcome:
        flow = _flow(ctx)
        pushes = flow.pushes
        if not pushes:
            return Outcome.failed(f"No step of `{WORKFLOW}` pushes the image.",
                                  "Add a job that `needs:` the testing one and pushes: `docker/build-push-action` with "
                                  "`push: true`.")
        problems = []
        on = flow.data.get("on")
        for push in pushes:
            where = push.step.where
            if not any(flow.before(test, push) for test in flow.of("test")):
                problems.append(f"{where} pushes before any test step has passed (neither earlier in job "
                                f"`{push.step.job}` nor in a job it `needs:`)")
            conditions = [str(c) for c in (push.step.data.get("if"), flow.job(push.step.job).get("if")) if c]
            if not (any(_only_main_or_tag(c) for c in conditions) or _triggers_only_main_or_tags(on)):
                said = f"with `if: {conditions[0]}`" if conditions else "with no `if:`"
                problems.append(f"{where} pushes {said}, so a pull request or any branch would push too")
        return _judge(problems, f"{len(pushes)} push(es), each after the tests and only for main or a tag "
                                "(recorded, not performed).",
                      "Push from a job with `needs: [the testing job]` and "
                      "`if: github.event_name == 'push' && github.ref == 'refs/heads/main'` (or "
                      "`startsWith(github.ref, 'refs/tags/')` for tags).")

    return Check(name, "Pushes only tested images, from main or a tag", points, Category.SECURITY, (Need.WORKFLOW,),
                 run, tags=("workflow", "push"))


def _sha_tagged(flow: Workflow, push: Action) -> bool:
    if any("{github.sha}" in tag for tag in push.tags):
        return True
    for tag in push.tags:  # the tags a metadata step made: `${{ steps.meta.outputs.tags }}`
        named = re.fullmatch(r"\{steps\.([\w-]+)\.outputs\.tags\}", tag.strip())
        if named is None:
            continue
        for step in (a.step for a in flow.actions if a.step.job == push.step.job):
            if step.data.get("id") == named.group(1) and step.action == "docker/metadata-action":
                made = str(step.inputs.get("tags") or "")
                if re.search(r"type=sha\b", made) or "github.sha" in made:
                    return True
    return False


def pushes_sha_tag(points: float, name: str = "pushes_sha_tag") -> Check:
    """What is pushed carries the commit SHA in a tag (`${{ github.sha }}`, or metadata-action's `type=sha`)."""

    def run(ctx: GradingContext) -> Outcome:
        flow = _flow(ctx)
        pushes = flow.pushes
        if not pushes:
            return Outcome.failed(f"No step of `{WORKFLOW}` pushes, so no image is tagged with its commit.",
                                  "Push with a tag `...:${{ github.sha }}`.")
        problems = [f"{p.step.where} pushes {', '.join(f'`{t}`' for t in p.tags) or 'no tag'}, none with the commit SHA"
                    for p in pushes if not _sha_tagged(flow, p)]
        return _judge(problems, "Every pushed image has a tag with the commit SHA.",
                      "Tag what you push with `${{ github.sha }}` (`ghcr.io/${{ github.repository }}:${{ github.sha }}`), "
                      "or with `docker/metadata-action` and `type=sha,format=long`: `latest` alone cannot tell which "
                      "commit runs.")

    return Check(name, "Pushed images are tagged with the commit SHA", points, Category.STATIC, (Need.WORKFLOW,), run,
                 tags=("workflow", "tags"))

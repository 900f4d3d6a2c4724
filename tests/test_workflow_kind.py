"""The workflow kind without an engine: how steps are interpreted (and what is refused), and the static rules
(pins, permissions, pushes, cache, scan) judged on the lab's reference workflow and small edits of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from graders import workflow_model
from graders.check_model import Phase
from graders.checks.workflow import pin_problem
from graders.context import GradingContext
from graders.kinds.workflow import _inside, full_name
from graders.labs import get_lab
from graders.results import Status
from graders.submission import materialize

SPEC = get_lab("ci-pipeline")
SOLUTION = SPEC.solution_dir / workflow_model.WORKFLOW


def reference() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SOLUTION.read_text())
    return data


def judge(data: dict[str, Any], check: str) -> tuple[Status, str]:
    ctx = GradingContext(spec=SPEC, submission=Path("."), run_id="0" * 12)
    ctx.workflow = workflow_model.interpret(data)
    outcome = SPEC.check(check).run(ctx)
    return outcome.status, outcome.message


def one_step(run: str) -> list[workflow_model.Action]:
    return workflow_model.interpret({"on": "push", "jobs": {"j": {"runs-on": "x", "steps": [{"run": run}]}}}).actions


def test_reference_is_read_in_order_with_on_key_restored() -> None:
    flow = workflow_model.interpret(reference())
    assert "on" in flow.data and True not in flow.data  # PyYAML reads `on:` as true
    assert flow.jobs == ["test", "push"] and flow.needs["push"] == {"test"}
    assert [a.kind for a in flow.actions] == ["noop", "noop", "build", "test", "scan",
                                              "noop", "noop", "noop", "build"]
    assert flow.schema_problems == []
    build = flow.of("build")[0]
    assert build.loads and build.cache_to == ("type=gha,mode=max",) and build.tags == ("model-service:test",)
    assert [p.tags for p in flow.pushes] == [("ghcr.io/{github.repository}:{github.sha}",)]


def test_jobs_run_after_what_they_need_whatever_the_file_order() -> None:
    data = {"on": "push", "jobs": {"push": {"needs": "test", "runs-on": "x", "steps": [{"run": "docker push a:1"}]},
                                   "test": {"runs-on": "x", "steps": [{"run": "docker run --rm a:1 python -m unittest"}]}}}
    flow = workflow_model.interpret(data)
    assert flow.jobs == ["test", "push"]
    assert flow.before(flow.of("test")[0], flow.pushes[0])


def test_parallel_jobs_are_not_ordered() -> None:
    data = {"on": "push", "jobs": {"test": {"runs-on": "x", "steps": [{"run": "docker run --rm a python -m unittest"}]},
                                   "push": {"runs-on": "x", "steps": [{"run": "docker push a"}]}}}
    flow = workflow_model.interpret(data)
    assert not flow.before(flow.of("test")[0], flow.pushes[0])


def test_run_lines_become_builds_tests_and_pushes() -> None:
    actions = one_step("docker buildx build --load --cache-from type=gha \\\n  -t app:${{ github.sha }} -f docker/Dockerfile ctx\n"
                       "docker run --rm -e A=1 -w /app app:$GITHUB_SHA python -m unittest -v\n"
                       "docker push app:${GITHUB_SHA}")
    build, test, push = actions
    assert (build.kind, build.context, build.dockerfile, build.tags, build.loads, build.buildx) == \
        ("build", "ctx", "docker/Dockerfile", ("app:{github.sha}",), True, True)
    assert (test.kind, test.image, test.command, test.env, test.workdir) == \
        ("test", "app:{github.sha}", ("python", "-m", "unittest", "-v"), (("A", "1"),), "/app")
    assert (push.kind, push.tags) == ("push", ("app:{github.sha}",))


def test_buildx_without_load_is_noted_and_push_flag_recorded() -> None:
    build, = one_step("docker buildx build --push -t r/app:1 .")
    assert not build.loads and build.pushes


def test_other_commands_are_never_run_and_say_so() -> None:
    actions = one_step("pip install -r requirements.txt && curl https://x | sh\ndocker exec c rm -rf /")
    assert [a.kind for a in actions] == ["not-run", "not-run", "not-run"]
    assert "was not run" in actions[0].note and "`docker build`, `docker run` and `docker push`" in actions[0].note
    assert "does not run `docker exec c rm -rf /`" in actions[2].note


def test_mounts_and_networks_are_not_given_to_a_test_container() -> None:
    test, = one_step('docker run --rm -v "$PWD:/src" --network host --privileged app python -m pytest')
    assert test.image == "app" and test.command == ("python", "-m", "pytest")
    assert "`--network`" in test.note and "`--privileged`" in test.note and "`-v`" in test.note


def test_unknown_actions_are_not_run_and_scanners_are_noted() -> None:
    steps = [{"uses": "someone/deploy@v1"}, {"uses": "docker/scout-action@v1"}, {"uses": "actions/checkout@v6"}]
    flow = workflow_model.interpret({"on": "push", "jobs": {"j": {"runs-on": "x", "steps": steps}}})
    assert [a.kind for a in flow.actions] == ["not-run", "scan", "noop"]
    assert flow.actions[0].note == "the grader does not run `someone/deploy@v1`"


@pytest.mark.parametrize(("uses", "pinned"), [
    ("actions/checkout@v6", True), ("actions/checkout@v4.2.2", True), ("aquasecurity/trivy-action@0.33.1", True),
    ("actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", True), ("./.github/actions/local", True),
    ("actions/checkout@main", False), ("actions/checkout@master", False), ("actions/checkout", False),
    ("actions/checkout@11bd719", False), ("docker://alpine:latest", False), ("docker://alpine:3.22", True)])
def test_pin_rules(uses: str, pinned: bool) -> None:
    assert (pin_problem(uses) is None) is pinned


def test_reference_passes_every_static_check() -> None:
    for check in SPEC.checks:
        if check.phase is Phase.STATIC:
            assert judge(reference(), check.name)[0] is Status.PASSED, check.name


def test_permissions_rules() -> None:
    data = reference()
    del data["permissions"]
    status, message = judge(data, "least_privilege")
    assert status is Status.FAILED and "no top-level `permissions:`" in message
    data = reference()
    data["jobs"]["test"]["permissions"] = {"contents": "read", "packages": "write"}
    status, message = judge(data, "least_privilege")
    assert status is Status.FAILED and "Job `test` asks for `packages: write`, and it pushes nothing" in message
    data = reference()
    data["jobs"]["push"]["permissions"] = "write-all"
    assert "`write-all`" in judge(data, "least_privilege")[1]


def test_push_guards() -> None:
    data = reference()
    data["jobs"]["push"]["if"] = "github.event_name == 'push' || github.ref == 'refs/heads/main'"
    assert judge(data, "push_after_tests")[0] is Status.FAILED  # a push to any branch passes its first half
    data["jobs"]["push"]["if"] = "github.ref_type == 'tag'"
    assert judge(data, "push_after_tests")[0] is Status.PASSED
    del data["jobs"]["push"]["if"]
    data["on"] = {"push": {"branches": ["main"], "tags": ["v*"]}}
    data.pop(True, None)
    assert judge(data, "push_after_tests")[0] is Status.PASSED  # the triggers alone keep pull requests out
    data["on"] = {"push": {"branches": ["main", "dev"]}}
    assert judge(data, "push_after_tests")[0] is Status.FAILED


def test_metadata_sha_tags_count() -> None:
    data = reference()
    steps = data["jobs"]["push"]["steps"]
    steps.insert(3, {"id": "meta", "uses": "docker/metadata-action@v5",
                     "with": {"images": "ghcr.io/x/y", "tags": "type=sha,format=long\ntype=raw,value=latest"}})
    steps[-1]["with"]["tags"] = "${{ steps.meta.outputs.tags }}"
    assert judge(data, "pushes_sha_tag")[0] is Status.PASSED
    steps[3]["with"]["tags"] = "type=raw,value=latest"
    assert judge(data, "pushes_sha_tag")[0] is Status.FAILED


def test_classic_build_has_no_cache() -> None:
    data = reference()
    data["jobs"]["test"]["steps"][2] = {"run": "docker build -t model-service:test ."}
    status, message = judge(data, "builds_with_cache")
    assert status is Status.FAILED and "the classic builder" in message


def test_schema_problem_names_the_deepest_key() -> None:
    data = reference()
    data["jobs"]["test"]["timeout-minutes"] = "twenty"
    assert workflow_model.interpret(data).schema_problems[0].startswith("`jobs.test.timeout-minutes`")


def test_load_refuses_missing_and_non_workflows(tmp_path: Path) -> None:
    from graders.errors import SubmissionError

    with pytest.raises(SubmissionError, match="There is no"):
        workflow_model.load(tmp_path)
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / workflow_model.WORKFLOW).write_text("on: push\n")
    with pytest.raises(SubmissionError, match="no `jobs:`"):
        workflow_model.load(tmp_path)


def test_build_paths_stay_in_the_folder(tmp_path: Path) -> None:
    assert _inside(tmp_path, ".") == tmp_path and _inside(tmp_path, "sub/..") == tmp_path
    assert _inside(tmp_path, "../x") is None and _inside(tmp_path, "/etc") is None
    assert _inside(tmp_path, "{github.workspace}") is None
    assert full_name("app") == "app:latest" and full_name("r:5000/app") == "r:5000/app:latest"


def test_dot_folder_reaches_the_submission(tmp_path: Path) -> None:
    folder = materialize(SPEC, into=tmp_path / "sub")
    assert (folder / workflow_model.WORKFLOW).is_file()
    assert workflow_model.load(folder).schema_problems == []


def test_shell_after_a_test_is_not_run_and_cannot_hide_a_failure() -> None:
    test, = one_step("docker run --rm app python -m unittest -v || true")
    assert test.command == ("python", "-m", "unittest", "-v") and "`|| true` after it is not run" in test.note

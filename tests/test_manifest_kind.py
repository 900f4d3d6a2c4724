"""The manifest kind without an engine or a cluster: reading untrusted YAML (bad syntax with its line, bombs, huge
files, links), kubernetes-validate's own words for an unknown kind or apiVersion, each check both ways on small
manifests, and the live check skipped with its reason (its apply path driven by a stand-in `kubectl`)."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from graders.check_model import Need, Phase
from graders.checks import kubernetes as k8s
from graders.context import GradingContext
from graders.errors import SubmissionError
from graders.kinds import get_kind
from graders.kinds import manifest as kind
from graders.labs import get_lab
from graders.manifest_model import MAX_FILE_BYTES, Document, Manifests, load
from graders.results import Status

SPEC = get_lab("k8s-deploy")
SOLUTION = load(SPEC.solution_dir, ("k8s",))


def _ctx(manifests: Manifests | None = None, tmp: Path = Path("/nonexistent")) -> GradingContext:
    return GradingContext(spec=SPEC, submission=tmp, run_id="0123456789ab", manifests=manifests)


def _write(folder: Path, name: str, text: str) -> Path:
    (folder / "k8s").mkdir(exist_ok=True)
    path = folder / "k8s" / name
    path.write_text(text)
    return path


def _changed(change: Callable[[dict[str, dict[str, Any]]], None]) -> Manifests:
    """The solution's documents, deep-copied, changed by kind ("Deployment", "Job"...)."""
    docs = [Document(d.file, d.index, d.line, copy.deepcopy(d.data)) for d in SOLUTION.documents]
    change({d.kind: d.data for d in docs})
    return Manifests(SOLUTION.files, tuple(docs))


# --- reading ------------------------------------------------------------------------------------------------------

def test_the_solution_reads_as_five_objects_from_five_files() -> None:
    assert [d.kind for d in SOLUTION.documents] == ["ConfigMap", "Deployment", "Service", "PersistentVolumeClaim", "Job"]
    assert all(d.index == 1 and d.line == 2 for d in SOLUTION.documents)


def test_a_multi_document_file_keeps_each_document_and_its_line(tmp_path: Path) -> None:
    _write(tmp_path, "all.yml", "a: 1\n---\n# a comment\nb: 2\n---\n---\nc: 3\n")
    docs = load(tmp_path, ("k8s",)).documents
    assert [(d.file, d.index, d.line) for d in docs] == [("k8s/all.yml", 1, 1), ("k8s/all.yml", 2, 4), ("k8s/all.yml", 3, 7)]


def test_bad_yaml_is_a_message_with_its_line(tmp_path: Path) -> None:
    _write(tmp_path, "service.yaml", "apiVersion: v1\nkind: Service\nspec:\n\ttype: ClusterIP\n")
    with pytest.raises(SubmissionError) as caught:
        load(tmp_path, ("k8s",))
    assert "`k8s/service.yaml` is not valid YAML at line 4" in caught.value.message
    assert "tab" in caught.value.hint


def test_a_yaml_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    _write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    with pytest.raises(SubmissionError, match="expands to more than"):
        load(tmp_path, ("k8s",))


def test_a_self_referencing_document_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "loop.yaml", "&a [*a, *a]\n")
    with pytest.raises(SubmissionError, match="expands to more than"):
        load(tmp_path, ("k8s",))


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    _write(tmp_path, "huge.yaml", "# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(SubmissionError, match="at most 256 KiB a file"):
        load(tmp_path, ("k8s",))


def test_deep_nesting_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    _write(tmp_path, "deep.yaml", "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(SubmissionError):
        load(tmp_path, ("k8s",))


def test_a_link_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "passwd.yaml").symlink_to("/etc/passwd")
    with pytest.raises(SubmissionError, match="not a plain file"):
        load(tmp_path, ("k8s",))


def test_the_kind_reads_the_folders_of_the_spec_files_and_records_a_parse_blocker(tmp_path: Path) -> None:
    assert kind.folders(SPEC) == ("k8s",)
    assert get_kind("manifest").provides(SPEC) >= {Need.MANIFESTS, Need.CLUSTER}
    _write(tmp_path, "deployment.yaml", "kind: [\n")
    ctx = _ctx(tmp=tmp_path)
    kind._parse(ctx, lambda _: None)
    blocker = ctx.blockers[Phase.STATIC]
    assert blocker.kind == "parse" and "line 2" in blocker.message
    outcome = SPEC.check("manifests_valid").run(ctx)
    assert outcome.status is Status.FAILED and "`k8s/deployment.yaml` is not valid YAML" in outcome.message


# --- the schema, in kubernetes-validate's words -------------------------------------------------------------------

def test_unknown_kind_and_api_version_get_kubernetes_validates_words() -> None:
    typo = Document("k8s/d.yaml", 1, 1, {"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "x"}})
    old = Document("k8s/d.yaml", 2, 5, {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "x"}})
    assert "Couldn't find schema for kind Deploymnet with api version apps/v1 for kubernetes version 1.35" in str(
        k8s.schema_problem(typo))
    assert "with api version extensions/v1beta1" in str(k8s.schema_problem(old))


def test_schema_problems_name_the_field_and_never_raise() -> None:
    wrong = _changed(lambda d: d["Deployment"]["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(
        containerPort="8080")).of_kind("Deployment")[0]
    assert "`spec.template.spec.containers[0].ports[0].containerPort`: '8080' is not of type 'integer'" in str(
        k8s.schema_problem(wrong))
    assert "is a list, not a Kubernetes object" in str(k8s.schema_problem(Document("k8s/x.yaml", 1, 1, [1, 2])))
    assert "has no apiVersion" in str(k8s.schema_problem(Document("k8s/x.yaml", 1, 1, {"kind": "Service"})))
    dated = Document("k8s/x.yaml", 1, 1, yaml.safe_load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
                                                        "data: {when: 2024-01-01, 3: x}\n"))
    assert k8s.schema_problem(dated)  # a date and a number where strings go: reported, not raised


# --- every check both ways ----------------------------------------------------------------------------------------

def _pod(d: dict[str, dict[str, Any]], kind_name: str = "Deployment") -> dict[str, Any]:
    spec: dict[str, Any] = d[kind_name]["spec"]["template"]["spec"]
    return spec


def _api(d: dict[str, dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = _pod(d)["containers"][0]
    return container


BREAKS: dict[str, list[Callable[[dict[str, dict[str, Any]]], None]]] = {
    "manifests_valid": [lambda d: _api(d).update(readinesProbe={}), lambda d: d["Job"].update(kind="CronJob")],
    "labels_match_selectors": [lambda d: d["Service"]["spec"].update(selector={"app": "nope"}),
                               lambda d: d["Deployment"]["spec"]["template"]["metadata"].update(labels={"app": "x"}),
                               lambda d: d["Service"]["spec"].pop("selector")],
    "service_targets_port": [lambda d: d["Service"]["spec"]["ports"][0].update(targetPort="web"),
                             lambda d: d["Service"]["spec"]["ports"][0].update(targetPort=9000),
                             lambda d: _api(d)["ports"][0].update(containerPort=8000)],
    "probes_on_health": [lambda d: _api(d).pop("livenessProbe"),
                         lambda d: _api(d)["readinessProbe"]["httpGet"].update(path="/ready"),
                         lambda d: _api(d)["readinessProbe"]["httpGet"].update(port=8000),
                         lambda d: _api(d)["livenessProbe"].update(httpGet=None, exec={"command": ["true"]})],
    "resources_set": [lambda d: _api(d)["resources"].pop("requests"),
                      lambda d: _api(d)["resources"]["limits"].update(cpu="100m"),
                      lambda d: _api(d)["resources"]["limits"].update(memory="lots")],
    "security_context": [lambda d: _pod(d)["securityContext"].pop("runAsNonRoot"),
                         lambda d: _pod(d)["securityContext"].update(runAsUser="10001"),
                         lambda d: _pod(d, "Job")["containers"][0]["securityContext"].pop("readOnlyRootFilesystem"),
                         lambda d: _api(d)["securityContext"].update(allowPrivilegeEscalation=True),
                         lambda d: _api(d)["securityContext"].update(capabilities={"drop": ["NET_RAW"]}),
                         lambda d: _api(d)["securityContext"].update(runAsNonRoot=False)],
    "image_pinned": [lambda d: _api(d).update(image="ml-api"), lambda d: _api(d).update(image="reg:5000/ml-api"),
                     lambda d: _api(d).update(image="ml-api:latest")],
    "secrets_by_reference": [lambda d: d["ConfigMap"]["data"].update(DB_PASSWORD="hunter2"),
                             lambda d: d["ConfigMap"]["data"].update(DATABASE_URL="postgresql://app:hunter2@db/app"),
                             lambda d: _api(d)["env"].append({"name": "MLFLOW_TRACKING_TOKEN", "value": "abc"}),
                             lambda d: _pod(d).update(volumes=[v for v in _pod(d)["volumes"] if "secret" not in v])],
    "model_storage": [lambda d: d["PersistentVolumeClaim"]["metadata"].update(name="models"),
                      lambda d: _pod(d)["volumes"][0]["persistentVolumeClaim"].update(claimName="other")],
    "training_job_bounded": [lambda d: d["Job"]["spec"].pop("ttlSecondsAfterFinished"),
                             lambda d: d["Job"]["spec"].update(backoffLimit=-1),
                             lambda d: _pod(d, "Job").update(restartPolicy="Always")],
}


@pytest.mark.parametrize("name", [c.name for c in SPEC.checks if Need.MANIFESTS in c.needs])
def test_the_solution_passes(name: str) -> None:
    outcome = SPEC.check(name).run(_ctx(SOLUTION))
    assert outcome.status is Status.PASSED, outcome.message


@pytest.mark.parametrize(("name", "number"), [(n, i) for n, breaks in BREAKS.items() for i in range(len(breaks))])
def test_each_check_fails_what_it_is_about(name: str, number: int) -> None:
    outcome = SPEC.check(name).run(_ctx(_changed(BREAKS[name][number])))
    assert outcome.status is Status.FAILED, outcome.message
    assert "`k8s/" in outcome.message, outcome.message  # where to look: the file, the document, the field
    assert outcome.hint


def test_every_static_check_is_exercised_here() -> None:
    assert set(BREAKS) == {c.name for c in SPEC.checks if Need.MANIFESTS in c.needs}


@pytest.mark.parametrize(("image", "pinned"), [
    ("registry.example.com/ml-api:1.4.0", True), ("localhost:5000/ml-api:2", True), ("ml-api@sha256:" + "a" * 64, True),
    ("localhost:5000/ml-api", False), ("ml-api:latest", False), ("ml-api@sha256:abc", False), ("", False)])
def test_image_pins(image: str, pinned: bool) -> None:
    assert (k8s.image_problem(image) is None) is pinned


def test_quantities() -> None:
    assert k8s.quantity("250m") == k8s.quantity("0.25")
    assert k8s.quantity("512Mi") == 512 * 2**20 and k8s.quantity("1G") == 10**9 and k8s.quantity(2) == 2
    assert k8s.quantity("lots") is None and k8s.quantity(True) is None


def test_selectors() -> None:
    labels = {"app": "iris", "tier": "api"}
    assert k8s.selects({"app": "iris"}, labels)
    assert k8s.selects({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api"]}]}, labels)
    assert not k8s.selects({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, labels)
    assert not k8s.selects({}, labels) and not k8s.selects({"app": "other"}, labels)


# --- live ---------------------------------------------------------------------------------------------------------

def test_without_a_cluster_the_live_check_is_skipped_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    check = SPEC.check("deploys_on_cluster")
    assert check.phase is Phase.RUNTIME and check.skip_unless is not None
    reason = check.skip_unless()
    assert reason is not None and "KUBECONFIG is not set and ~/.kube/config is absent" in reason
    ctx = _ctx(SOLUTION, tmp_path)
    kind._start(ctx, lambda _: None)  # nothing is applied
    assert ctx.cluster_namespace is None and check.run(ctx).status is Status.SKIPPED
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    assert "which is absent" in str(check.skip_unless())


def test_with_a_cluster_the_manifests_go_to_a_throwaway_namespace_that_is_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in kubectl records what the grader asks of a cluster (none can be had here)."""
    log = tmp_path / "calls.jsonl"
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir()
    fake.write_text(f"""#!/usr/bin/env python3
import json, sys
args = sys.argv[1:]
applied = json.load(open(args[args.index('-f') + 1])) if '-f' in args else None
open({str(log)!r}, 'a').write(json.dumps({{"args": args, "applied": applied}}) + "\\n")
""")
    fake.chmod(0o755)
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr("graders.kube_cluster._reachable", {})
    hostile = _changed(lambda d: d["Deployment"]["metadata"].update(namespace="kube-system"))
    ctx = _ctx(hostile, tmp_path)
    kind._start(ctx, lambda _: None)
    kind._teardown(ctx)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    verbs = [c["args"][0] for c in calls]
    assert verbs == ["version", "apply", "apply", "wait", "wait", "delete"], verbs
    namespace = ctx.cluster_namespace
    assert namespace == "mastery-0123456789ab"
    objects = calls[2]["applied"]["items"]
    assert {o["metadata"]["namespace"] for o in objects} == {namespace}  # never kube-system
    secret = next(o for o in objects if o["kind"] == "Secret")
    assert secret["metadata"]["name"] == "iris-api-key" and secret["stringData"]  # a placeholder, random
    assert calls[1]["applied"]["items"][0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert calls[-1]["args"][:3] == ["delete", "namespace", namespace]
    assert ctx.cluster_result is not None and ctx.cluster_result.ok
    assert SPEC.check("deploys_on_cluster").run(ctx).status is Status.PASSED

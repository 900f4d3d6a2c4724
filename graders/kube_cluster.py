"""The live half of a manifest lab: apply the learner's objects to a real cluster, in a namespace of the run's
own, wait for them, and delete the namespace, whatever happened.

Used only where a cluster answers (a kubeconfig from KUBECONFIG or ~/.kube/config, `kubectl` on PATH;
MASTERY_KUBE_CONTEXT picks a context). Every call has a time limit. Only namespaced kinds of an allow-list are
applied, with their `metadata.namespace` replaced by the run's, so a submission reaches nothing outside it.
Never run against a cluster in this project's CI (none can be had offline): the path without one is what is tested.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CALL_TIMEOUT_S = 30.0
REACHABLE_TTL_S = 60.0
# What a lab may create in its namespace: nothing cluster-wide, nothing that grants rights.
APPLIED_KINDS = frozenset({"Deployment", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim", "Job", "CronJob",
                           "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Ingress"})
_reachable: dict[tuple[str, str], tuple[float, str | None]] = {}


@dataclass(frozen=True)
class LiveResult:
    ok: bool
    message: str
    hint: str = ""


def kubeconfig() -> Path | None:
    named = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    path = Path(named).expanduser() if named else Path.home() / ".kube" / "config"
    return path if path.is_file() else None


def unavailable() -> str | None:
    """Why the live checks cannot run on this host, or None when a cluster answers (asked at most once a minute)."""
    config = kubeconfig()
    if config is None:
        where = f"KUBECONFIG names {os.environ['KUBECONFIG']}, which is absent" if os.environ.get("KUBECONFIG") else \
            "KUBECONFIG is not set and ~/.kube/config is absent"
        return f"No Kubernetes cluster: {where}; the live checks need one (the static checks judged the manifests)."
    if shutil.which("kubectl") is None:
        return "No `kubectl` on PATH: the live checks apply the manifests with it (the static checks judged them)."
    key = (str(config), os.environ.get("MASTERY_KUBE_CONTEXT", ""))
    cached = _reachable.get(key)
    if cached is not None and time.monotonic() - cached[0] < REACHABLE_TTL_S:
        return cached[1]
    proc = _kubectl("version", "--output=json", "--request-timeout=5s", timeout=15)
    reason = None if proc.returncode == 0 else (
        f"No Kubernetes cluster answers ({config}): {_tail(proc.stderr)}; the live checks need one.")
    _reachable[key] = (time.monotonic(), reason)
    return reason


def apply(objects: list[dict[str, Any]], namespace: str, *, wait_s: float) -> LiveResult:
    """Create the namespace, placeholder Secrets for those the objects reference, the objects; wait for every Job
    to complete and every Deployment to be available (its readiness probes passing). The caller deletes the namespace."""
    refused = sorted({str(o.get("kind")) for o in objects} - APPLIED_KINDS)
    if refused:
        return LiveResult(False, f"Not applied to the cluster: the grader applies only {', '.join(sorted(APPLIED_KINDS))}; "
                                 f"the manifests also have {', '.join(refused)}.", "Keep to the objects the lab asks for.")
    items = [_in_namespace(o, namespace) for o in objects]
    defined = {str(o["metadata"].get("name")) for o in items if o.get("kind") == "Secret"}
    items += [_placeholder(name, keys, namespace) for name, keys in _referenced_secrets(objects).items() if name not in defined]
    namespace_doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {
        "app.kubernetes.io/managed-by": "mastery", "pod-security.kubernetes.io/enforce": "restricted"}}}
    with tempfile.TemporaryDirectory(prefix="mastery-kube-") as scratch:
        listed = Path(scratch) / "objects.json"
        listed.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [namespace_doc]}))
        proc = _kubectl("apply", "-f", str(listed))
        if proc.returncode != 0:
            return LiveResult(False, f"The grader could not make its namespace: {_tail(proc.stderr)}.")
        listed.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        proc = _kubectl("apply", "--namespace", namespace, "-f", str(listed))
        if proc.returncode != 0:
            return LiveResult(False, f"The cluster refused the manifests: {_tail(proc.stderr)}.",
                              "Run `kubectl apply --dry-run=server -f k8s/` against a cluster to see the same.")
    deadline = time.monotonic() + wait_s
    for kind, condition in (("job", "complete"), ("deployment", "available")):
        if not any(str(o.get("kind")).lower() == kind for o in items):
            continue
        left = max(1.0, deadline - time.monotonic())
        proc = _kubectl("wait", "--namespace", namespace, f"--for=condition={condition}", kind, "--all",
                        f"--timeout={left:.0f}s", timeout=left + 10)
        if proc.returncode != 0:
            pods = _kubectl("get", "pods", "--namespace", namespace, "--no-headers")
            return LiveResult(False, f"Applied, but not every {kind} was {condition} after {wait_s:.0f} s: "
                                     f"{_tail(proc.stderr)}; Pods: {_tail(pods.stdout) or 'none'}.",
                              "Apply them to your own cluster and run `kubectl describe pod` and `kubectl logs`: the "
                              "events say which probe failed, or why the Pod did not start.")
    return LiveResult(True, f"Applied {len(items)} objects in a namespace of their own; every Job completed and every "
                            "Deployment became available (its readiness probes passed).")


def delete_namespace(namespace: str) -> None:
    """Delete the run's namespace and everything in it; not waited for (the cluster finishes it)."""
    _kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false")


def _in_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    metadata = dict(obj["metadata"]) if isinstance(obj.get("metadata"), dict) else {}
    metadata["namespace"] = namespace
    return {**obj, "metadata": metadata}


def _referenced_secrets(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The Secrets the objects read, with the keys they name: env secretKeyRef, envFrom, volumes."""
    found: dict[str, set[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("secretKeyRef") or {}
            if isinstance(ref, dict) and ref.get("name"):
                found.setdefault(str(ref["name"]), set()).add(str(ref.get("key") or "value"))
            for field in ("secretRef", "secret"):
                ref = node.get(field) or {}
                name = isinstance(ref, dict) and (ref.get("name") or ref.get("secretName"))
                if name:
                    keys = {str(i.get("key")) for i in ref.get("items") or [] if isinstance(i, dict) and i.get("key")}
                    found.setdefault(str(name), set()).update(keys)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(objects)
    return found


def _placeholder(name: str, keys: set[str], namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "stringData": {key: os.urandom(16).hex() for key in keys or {"value"}}}


def _kubectl(*args: str, timeout: float = CALL_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    context = os.environ.get("MASTERY_KUBE_CONTEXT")
    argv = ["kubectl", *(["--context", context] if context else []), *args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (subprocess.TimeoutExpired, OSError) as exc:
        return subprocess.CompletedProcess(argv, 1, "", f"kubectl {args[0]} did not finish: {exc}")


def _tail(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else "…" + text[-limit:]

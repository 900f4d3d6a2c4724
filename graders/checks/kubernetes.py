"""Kubernetes manifest checks: the schema, then what a cluster would not tell you until it bites (selectors that
match nothing, probes on a path the app does not serve, a password in a ConfigMap), read from the documents alone.
One live check, only where a cluster answers. Each message names the file, the document and the field."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from graders import kube_cluster
from graders.check_model import Check, Need, Outcome, Phase, judge
from graders.context import GradingContext
from graders.manifest_model import (
    KUBERNETES_VERSION,
    Document,
    Manifests,
    containers,
    field_path,
    get,
    items,
    mapping,
    pod_labels,
    pod_spec,
)
from graders.results import Category

SHOWN = 4  # problems quoted in one message; the rest are counted
SERVED_BY_PODS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")  # what a Service sends traffic to
POD_KINDS = (*SERVED_BY_PODS, "Job", "CronJob", "Pod")
# Names of keys and variables that hold a credential; one ending in _FILE/_PATH/_DIR holds where it is, which is fine.
SECRETISH = re.compile(r"pass(word|wd)?|pwd|token|secret|credential|api[_-]?key|private[_-]?key|access[_-]?key|(^|[_-])key$",
                       re.I)
A_LOCATION = re.compile(r"[_-](file|path|dir|name|ref)$", re.I)
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/:@\s]+:[^/@\s]+@", re.I)
QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
SUFFIX_FACTOR: dict[str, Decimal | int] = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6, "G": 10**9,
    "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def _judge(problems: list[str], passed: str, hint: str) -> Outcome:
    return judge(problems, passed, hint, SHOWN)


def _manifests(ctx: GradingContext) -> Manifests:
    assert ctx.manifests is not None, "manifest checks run only once the manifests parsed"
    return ctx.manifests


def _workloads(ctx: GradingContext, *kinds: str) -> list[tuple[Document, str, dict[str, Any]]]:
    """Each workload of these kinds with its Pod spec's path and the spec (empty when missing)."""
    out = []
    for doc in _manifests(ctx).of_kind(*kinds):
        found = pod_spec(doc)
        if found is not None:
            out.append((doc, *found))
    return out


# --- schema -------------------------------------------------------------------------------------------------------

def manifests_valid(points: float, required: tuple[str, ...], name: str = "manifests_valid") -> Check:
    """Every document is a Kubernetes object its API's schema accepts (strict: no unknown field), in the words of
    kubernetes-validate, and the lab's objects are all there."""

    def run(ctx: GradingContext) -> Outcome:
        blocker = ctx.blockers.get(Phase.STATIC)
        if blocker is not None:
            return Outcome.failed(blocker.message, blocker.hint)
        manifests = _manifests(ctx)
        problems = [problem for doc in manifests.documents if (problem := schema_problem(doc))]
        present = {doc.kind for doc in manifests.objects}
        missing = [kind for kind in required if kind not in present]
        if missing:
            read = ", ".join(f"`{f}`" for f in manifests.files) or "no YAML file"
            problems.append(f"the lab asks for {', '.join(required)}; {read} hold no {', '.join(missing)}")
        return _judge(problems, f"{len(manifests.documents)} documents in {len(manifests.files)} files validate against "
                                f"the Kubernetes {KUBERNETES_VERSION} schemas: {', '.join(d.short for d in manifests.objects)}.",
                      f"Fix each field named (the Kubernetes API reference has every field); `kubernetes-validate --strict "
                      f"-k {KUBERNETES_VERSION} FILE` shows the same messages.")

    return Check(name, f"Manifests are valid Kubernetes {KUBERNETES_VERSION} objects", points, Category.MANIFEST,
                 (Need.MANIFESTS,), run, tags=("kubernetes", "schema"), reports="parse")


def schema_problem(doc: Document) -> str | None:
    """What the schema of the document's kind and apiVersion says is wrong with it, or None."""
    data = doc.data
    if not isinstance(data, dict):
        return f"{doc.where} is a {type(data).__name__}, not a Kubernetes object (a mapping with apiVersion, kind, metadata)"
    absent = [key for key in ("apiVersion", "kind") if not isinstance(data.get(key), str) or not data.get(key)]
    if absent:
        return f"{doc.where} has no {' and no '.join(absent)}: every object says what it is"
    # Imported here: it loads jsonschema, whose format checkers take 2-3 s to import, a cost every `mastery`
    # command would pay when the labs load; only a manifest lab's grading needs it.
    import kubernetes_validate  # type: ignore[import-untyped]

    try:
        kubernetes_validate.validate(data, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        at = field_path(exc.path)
        return f"{doc.where}: {'`' + at + '`: ' if at else ''}{exc.message}"
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
        return f"{doc.where}: {exc.message}"
    except Exception as exc:  # a value the validator cannot even compare (a date, a key that is a number)
        return f"{doc.where} could not be validated: {exc}"
    return None


# --- labels and selectors -----------------------------------------------------------------------------------------

def selects(selector: Any, labels: dict[str, Any]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions, or a Service's plain map) selects these labels."""
    if not isinstance(selector, dict) or not selector:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    for key, value in mapping(selector, "matchLabels").items():
        if str(labels.get(key)) != str(value) or key not in labels:
            return False
    for expr in items(selector, "matchExpressions"):
        key, op, values = get(expr, "key"), get(expr, "operator"), [str(v) for v in items(expr, "values")]
        has = key in labels
        if ((op == "In" and not (has and str(labels[key]) in values)) or (op == "NotIn" and has and str(labels[key]) in values)
                or (op == "Exists" and not has) or (op == "DoesNotExist" and has)):
            return False
    return bool(mapping(selector, "matchLabels") or items(selector, "matchExpressions"))


def _labels(labels: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items()) or "none"


def labels_match_selectors(points: float, name: str = "labels_match_selectors") -> Check:
    """Each workload's selector selects its own Pod template, and each Service selects the Pods of a workload:
    a mismatch is refused (a Deployment) or silently sends traffic nowhere (a Service)."""

    def run(ctx: GradingContext) -> Outcome:
        problems = []
        templates = []
        for doc, _, _ in _workloads(ctx, *SERVED_BY_PODS):
            labels = pod_labels(doc)
            templates.append((doc, labels))
            selector = get(doc.data, "spec", "selector")
            if not selects(selector, labels):
                problems.append(f"{doc.where}: `spec.selector` ({_labels(mapping(selector, 'matchLabels'))}) does not select "
                                f"its own Pods (`spec.template.metadata.labels`: {_labels(labels)})")
        services = _manifests(ctx).of_kind("Service")
        for doc in services:
            selector = mapping(doc.data, "spec", "selector")
            if not selector:
                problems.append(f"{doc.where} has no `spec.selector`: it sends traffic to no Pod")
            elif not any(selects(selector, labels) for _, labels in templates):
                pods = "; ".join(f"{d.short}: {_labels(labels)}" for d, labels in templates) or "no workload"
                problems.append(f"{doc.where}: `spec.selector` ({_labels(selector)}) matches the Pods of no workload "
                                f"(their labels: {pods})")
        if not templates and not problems:
            problems.append("no Deployment to check its selector")
        return _judge(problems, f"{len(templates)} workload(s) select their own Pods; {len(services)} Service(s) select "
                                "a workload's Pods.",
                      "Give the Pod template (`spec.template.metadata.labels`) the labels the Deployment's "
                      "`spec.selector.matchLabels` and the Service's `spec.selector` name, e.g. "
                      "`app.kubernetes.io/name: iris-api` in all three.")

    return Check(name, "Labels match the selectors", points, Category.MANIFEST, (Need.MANIFESTS,), run,
                 tags=("kubernetes",))


# --- ports and probes ---------------------------------------------------------------------------------------------

def _resolve_port(port: Any, container: dict[str, Any]) -> int | None:
    """A port given by number, or by the name of one of the container's ports, as a number (None: no such port)."""
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    for declared in items(container, "ports"):
        if isinstance(port, str) and get(declared, "name") == port and isinstance(get(declared, "containerPort"), int):
            return int(get(declared, "containerPort"))
    if isinstance(port, str) and port.isdigit():
        return int(port)
    return None


def service_targets_container_port(points: float, port: int, name: str = "service_targets_port") -> Check:
    """Each port of each Service leads to a port the selected containers declare (by number or by name), and that is
    the port the app listens on."""

    def run(ctx: GradingContext) -> Outcome:
        problems, seen = [], []
        workloads = _workloads(ctx, *SERVED_BY_PODS)
        for doc in _manifests(ctx).of_kind("Service"):
            selected = [(w, spec) for w, _, spec in workloads if selects(mapping(doc.data, "spec", "selector"), pod_labels(w))]
            if not selected:
                problems.append(f"{doc.where} selects no workload's Pods, so none of its ports leads anywhere")
                continue
            for i, entry in enumerate(items(doc.data, "spec", "ports")):
                target = get(entry, "targetPort") if get(entry, "targetPort") is not None else get(entry, "port")
                where = f"{doc.where} `spec.ports[{i}]` (port {get(entry, 'port')}, targetPort {target})"
                resolved = {_resolve_port(target, c) for _, spec in selected for _, c in containers(spec, init=False)}
                declared = {get(p, "containerPort") for _, spec in selected for _, c in containers(spec, init=False)
                            for p in items(c, "ports")}
                by_name = isinstance(target, str) and not target.isdigit()
                if by_name and resolved == {None}:
                    problems.append(f"{where}: no container of {', '.join(w.short for w, _ in selected)} has a port named "
                                    f"`{target}`")
                elif not by_name and not declared & (resolved - {None}):
                    numbers = ", ".join(map(str, sorted(p for p in declared if isinstance(p, int)))) or "none"
                    problems.append(f"{where}: the containers of {', '.join(w.short for w, _ in selected)} declare "
                                    f"containerPort {numbers}")
                elif port not in resolved:
                    problems.append(f"{where} leads to port {', '.join(str(p) for p in resolved if p)}, but the API listens "
                                    f"on port {port}")
                else:
                    seen.append(f"{doc.short} port {get(entry, 'port')} → {target}")
        if not seen and not problems:
            problems.append("no Service with a port to check")
        return _judge(problems, "Every Service port leads to a declared container port: " + "; ".join(seen) + ".",
                      f"Declare the API's port in the container (`ports: [{{name: http, containerPort: {port}}}]`) and "
                      "point the Service's `targetPort` at it, by that number or by the name `http`.")

    return Check(name, f"The Service leads to the container's port {port}", points, Category.MANIFEST, (Need.MANIFESTS,),
                 run, tags=("kubernetes", "network"))


def probes_on_api(points: float, path: str, port: int, name: str = "probes_on_health") -> Check:
    """Readiness and liveness probes on every Deployment's containers ask the app's real endpoint on its real port:
    a probe of a path the app does not serve fails every time, and the container is restarted in a loop."""

    def run(ctx: GradingContext) -> Outcome:
        problems, seen = [], 0
        workloads = _workloads(ctx, "Deployment")
        for doc, spec_path, spec in workloads:
            for where, container in containers(spec, init=False):
                for probe in ("readinessProbe", "livenessProbe"):
                    at = f"{doc.where} `{spec_path}.{where}.{probe}`"
                    found = mapping(container, probe)
                    http = mapping(found, "httpGet")
                    if not found:
                        problems.append(f"{at} is missing")
                    elif not http:
                        other = next((k for k in ("tcpSocket", "exec", "grpc") if k in found), "no handler")
                        problems.append(f"{at} uses {other}, which does not ask the app for `{path}`")
                    elif get(http, "path") != path:
                        problems.append(f"{at} asks for `{get(http, 'path')}`, a path the API does not serve")
                    elif _resolve_port(get(http, "port"), container) != port:
                        problems.append(f"{at} asks port `{get(http, 'port')}`, not the API's port {port}")
                    else:
                        seen += 1
        if not workloads:
            problems.append("no Deployment holds the API's container")
        return _judge(problems, f"{seen} probes ask GET {path} on port {port}.",
                      f"Give the API's container `readinessProbe` and `livenessProbe` with `httpGet: {{path: {path}, "
                      f"port: {port}}}` (or `port: http`, the name of that container port).")

    return Check(name, f"Readiness and liveness probes ask GET {path} on port {port}", points, Category.MANIFEST,
                 (Need.MANIFESTS,), run, tags=("kubernetes", "health"))


# --- resources ----------------------------------------------------------------------------------------------------

def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity (`250m`, `1`, `512Mi`) as a number, or None when it is not one."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    match = QUANTITY.match(str(value)) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        return Decimal(match.group(1)) * Decimal(SUFFIX_FACTOR[match.group(2) or ""])
    except InvalidOperation:
        return None


def resources_set(points: float, name: str = "resources_set") -> Check:
    """Every container of every workload requests CPU and memory and is limited in both, requests within limits:
    without requests the scheduler places Pods blind; without a memory limit one Pod can starve its node."""

    def run(ctx: GradingContext) -> Outcome:
        problems, seen = [], 0
        for doc, spec_path, spec in _workloads(ctx, *POD_KINDS):
            for where, container in containers(spec):
                at = f"{doc.where} `{spec_path}.{where}.resources`"
                absent = [f"{part}.{res}" for part in ("requests", "limits") for res in ("cpu", "memory")
                          if get(container, "resources", part, res) is None]
                if absent:
                    problems.append(f"{at} has no {', '.join(absent)}")
                    continue
                for res in ("cpu", "memory"):
                    request = quantity(get(container, "resources", "requests", res))
                    limit = quantity(get(container, "resources", "limits", res))
                    if request is None or limit is None:
                        problems.append(f"{at}: {res} is not a quantity like `250m` or `256Mi`")
                    elif request > limit:
                        problems.append(f"{at}: requests.{res} is above limits.{res}, which the API server refuses")
                seen += 1
        if not seen and not problems:
            problems.append("no workload with a container")
        return _judge(problems, f"{seen} container(s) request and are limited in CPU and memory, requests within limits.",
                      "Give each container `resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: \"1\", "
                      "memory: 512Mi}}` (requests what it uses, limits the ceiling).")

    return Check(name, "Every container has CPU and memory requests and limits", points, Category.MANIFEST,
                 (Need.MANIFESTS,), run, tags=("kubernetes", "resources"))



# --- security context ---------------------------------------------------------------------------------------------

def _security_problems(spec: dict[str, Any], where: str, container: dict[str, Any]) -> list[str]:
    pod = mapping(spec, "securityContext")
    own = mapping(container, "securityContext")

    def effective(key: str) -> Any:  # a container's setting wins over the Pod's
        return own[key] if key in own else pod.get(key)

    found = []
    if effective("runAsNonRoot") is not True:
        found.append("`runAsNonRoot: true` is not set (in the Pod's or the container's securityContext)")
    user = effective("runAsUser")
    if not isinstance(user, int) or isinstance(user, bool) or user == 0:
        found.append("`runAsUser` is not a numeric non-root user such as 10001" if user != 0 else "`runAsUser: 0` is root")
    for key, wanted in (("readOnlyRootFilesystem", True), ("allowPrivilegeEscalation", False)):
        if own.get(key) is not wanted:
            at_pod = " (it is in the Pod's securityContext, where Kubernetes has no such field)" if key in pod else ""
            found.append(f"`{key}: {str(wanted).lower()}` is not in the container's securityContext{at_pod}")
    dropped = [str(c).upper() for c in items(own, "capabilities", "drop")]
    if "ALL" not in dropped:
        found.append("`capabilities: {drop: [ALL]}` is not in the container's securityContext")
    if own.get("privileged") is True:
        found.append("`privileged: true` gives the container the whole machine")
    return [f"{where}: {problem}" for problem in found]


def security_context(points: float, name: str = "security_context") -> Check:
    """Every container runs as a numeric non-root user on a read-only root, without privilege escalation or
    capabilities: each setting where Kubernetes takes it (user: Pod or container; the rest: container)."""

    def run(ctx: GradingContext) -> Outcome:
        problems, seen = [], 0
        for doc, spec_path, spec in _workloads(ctx, *POD_KINDS):
            for where, container in containers(spec):
                problems += _security_problems(spec, f"{doc.where} `{spec_path}.{where}`", container)
                seen += 1
        if not seen and not problems:
            problems.append("no workload with a container")
        return _judge(problems, f"{seen} container(s) run as a numeric non-root user, read-only, with no privilege "
                                "escalation and every capability dropped.",
                      "In the Pod's `securityContext`: `runAsNonRoot: true`, `runAsUser: 10001`; in each container's: "
                      "`readOnlyRootFilesystem: true`, `allowPrivilegeEscalation: false`, `capabilities: {drop: [ALL]}` "
                      "(and an `emptyDir` at `/tmp`, which the app writes).")

    return Check(name, "Containers run as non-root, read-only, without privileges", points, Category.SECURITY,
                 (Need.MANIFESTS,), run, tags=("kubernetes", "security"))


# --- images -------------------------------------------------------------------------------------------------------

def image_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None: a digest, or a tag other than `latest`."""
    if not isinstance(image, str) or not image:
        return "no image"
    if re.search(r"@sha256:[0-9a-f]{64}$", image):
        return None
    if "@" in image:
        return f"`{image}` has a digest that is not `sha256:` and 64 hex digits"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"`{image}` has no tag, so it means `latest`"
    if last.rsplit(":", 1)[1] == "latest":
        return f"`{image}` uses `latest`, a tag that moves"
    return None


def image_pinned(points: float, name: str = "image_pinned") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        problems, seen = [], []
        for doc, spec_path, spec in _workloads(ctx, *POD_KINDS):
            for where, container in containers(spec):
                problem = image_problem(container.get("image"))
                if problem:
                    problems.append(f"{doc.where} `{spec_path}.{where}.image`: {problem}")
                else:
                    seen.append(str(container.get("image")))
        if not seen and not problems:
            problems.append("no workload with a container")
        return _judge(problems, f"Every image is pinned: {', '.join(sorted(set(seen)))}.",
                      "Name a version tag you pushed (`registry.example.com/ml-api:1.4.0`) or a digest "
                      "(`...@sha256:<64 hex digits>`): you know what runs, and a rollback has something to go back to.")

    return Check(name, "Images are pinned to a tag or digest, never latest", points, Category.MANIFEST, (Need.MANIFESTS,),
                 run, tags=("kubernetes", "image"))


# --- secrets ------------------------------------------------------------------------------------------------------

def _secretish(key: Any, value: Any) -> bool:
    """Whether a key and its literal value look like a credential written into the manifest."""
    if not isinstance(key, str) or A_LOCATION.search(key) or value in (None, ""):
        return bool(isinstance(value, str) and URL_WITH_PASSWORD.search(value))
    return bool(SECRETISH.search(key)) or bool(isinstance(value, str) and URL_WITH_PASSWORD.search(value))


def _secret_refs(spec: dict[str, Any]) -> list[str]:
    """The Secrets a Pod spec reads: env secretKeyRef, envFrom secretRef, secret and projected volumes."""
    refs = []
    for _, container in containers(spec):
        refs += [str(get(e, "valueFrom", "secretKeyRef", "name")) for e in items(container, "env")
                 if get(e, "valueFrom", "secretKeyRef", "name")]
        refs += [str(get(e, "secretRef", "name")) for e in items(container, "envFrom") if get(e, "secretRef", "name")]
    for volume in items(spec, "volumes"):
        if get(volume, "secret", "secretName"):
            refs.append(str(get(volume, "secret", "secretName")))
        refs += [str(get(s, "secret", "name")) for s in items(volume, "projected", "sources") if get(s, "secret", "name")]
    return refs


def secrets_by_reference(points: float, name: str = "secrets_by_reference") -> Check:
    """Credentials come from a Secret the Deployment references, never as a literal in a ConfigMap, an `env` value or a
    committed Secret: anyone who can read the manifests (or the repository) could read them."""

    def run(ctx: GradingContext) -> Outcome:
        problems = []
        manifests = _manifests(ctx)
        for doc in manifests.of_kind("ConfigMap"):
            for field in ("data", "binaryData"):
                for key, value in mapping(doc.data, field).items():
                    if _secretish(key, value):
                        problems.append(f"{doc.where} `{field}.{key}` holds a credential in plain text")
        for doc in manifests.of_kind("Secret"):
            if mapping(doc.data, "data") or mapping(doc.data, "stringData"):
                problems.append(f"{doc.where} writes the secret's value into the manifest (base64 is not encryption)")
        refs: list[str] = []
        for doc, spec_path, spec in _workloads(ctx, *POD_KINDS):
            for where, container in containers(spec):
                for i, env in enumerate(items(container, "env")):
                    if "value" in mapping(env) and _secretish(get(env, "name"), get(env, "value")):
                        problems.append(f"{doc.where} `{spec_path}.{where}.env[{i}]` sets `{get(env, 'name')}` to a "
                                        "literal value")
            if doc.kind == "Deployment":
                read = _secret_refs(spec)
                refs += read
                if not read:
                    problems.append(f"{doc.where} reads no Secret (`secretKeyRef`, `envFrom.secretRef` or a `secret` volume)")
        if not manifests.of_kind("Deployment"):
            problems.append("no Deployment to read the API's key from a Secret")
        return _judge(problems, f"Credentials come from Secret(s) {', '.join(f'`{r}`' for r in sorted(set(refs)))}, and no "
                                "literal one is in the manifests.",
                      "Create the Secret from a file kept out of git (`kubectl create secret generic iris-api-key "
                      "--from-file=api-key=./api-key.txt`) and mount it as a `secret` volume (or read it with "
                      "`secretKeyRef`); keep only settings in the ConfigMap.")

    return Check(name, "Credentials come from a Secret, never a literal", points, Category.SECURITY, (Need.MANIFESTS,),
                 run, tags=("kubernetes", "secrets"))


# --- storage and the training Job ---------------------------------------------------------------------------------

def _claims(spec: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    """The claims a container mounts: claim name -> mount path."""
    volumes = {get(v, "name"): get(v, "persistentVolumeClaim", "claimName") for v in items(spec, "volumes")}
    return {str(volumes[get(m, "name")]): str(get(m, "mountPath")) for m in items(container, "volumeMounts")
            if volumes.get(get(m, "name"))}


def model_storage(points: float, name: str = "model_storage") -> Check:
    """The model lives on a PersistentVolumeClaim of the manifests that the training Job writes and the API's
    Deployment mounts: the model outlives every Pod, and both sides agree on where it is."""

    def run(ctx: GradingContext) -> Outcome:
        problems = []
        declared = {doc.name for doc in _manifests(ctx).of_kind("PersistentVolumeClaim")}
        mounted: dict[str, set[str]] = {}
        for kind in ("Job", "Deployment"):
            workloads = _workloads(ctx, kind)
            claims = {claim for _, _, spec in workloads for _, c in containers(spec, init=False) for claim in _claims(spec, c)}
            mounted[kind] = claims
            if not workloads:
                problems.append(f"no {kind} to mount the model's claim")
            elif not claims:
                problems.append(f"{', '.join(d.where for d, _, _ in workloads)}: no container mounts a `persistentVolumeClaim`")
            elif not claims & declared:
                problems.append(f"{', '.join(d.where for d, _, _ in workloads)} mount(s) claim(s) "
                                f"{', '.join(f'`{c}`' for c in sorted(claims))}, which no PersistentVolumeClaim in the "
                                f"manifests declares (they declare {', '.join(f'`{c}`' for c in sorted(declared)) or 'none'})")
        if not problems and not mounted["Job"] & mounted["Deployment"]:
            problems.append(f"the Job mounts {', '.join(sorted(mounted['Job']))} and the Deployment "
                            f"{', '.join(sorted(mounted['Deployment']))}: the API would not find the trained model")
        shared = sorted(mounted.get("Job", set()) & mounted.get("Deployment", set()) & declared)
        return _judge(problems, f"The Job and the Deployment share the claim {', '.join(f'`{c}`' for c in shared)}.",
                      "Declare a PersistentVolumeClaim (`iris-model`), and in both the Job's and the Deployment's Pod "
                      "spec a volume `persistentVolumeClaim: {claimName: iris-model}` mounted at `/models`.")

    return Check(name, "The Job and the API share the model's PersistentVolumeClaim", points, Category.MANIFEST,
                 (Need.MANIFESTS,), run, tags=("kubernetes", "storage"))


def job_bounded(points: float, name: str = "training_job_bounded") -> Check:
    """A Job says how often it may retry and when it is cleaned up: the default retries six times and keeps every
    finished Job and its Pods for ever."""

    def run(ctx: GradingContext) -> Outcome:
        problems, seen = [], []
        jobs = _manifests(ctx).of_kind("Job")
        for doc in jobs:
            spec = mapping(doc.data, "spec")
            for key in ("backoffLimit", "ttlSecondsAfterFinished"):
                value = spec.get(key)
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    problems.append(f"{doc.where} has no `spec.{key}`")
            policy = get(spec, "template", "spec", "restartPolicy")
            if policy not in ("Never", "OnFailure"):
                problems.append(f"{doc.where} `spec.template.spec.restartPolicy` is {policy or 'not set'}; a Job needs "
                                "`Never` or `OnFailure`")
            seen.append(f"{doc.short} (backoffLimit {spec.get('backoffLimit')}, ttlSecondsAfterFinished "
                        f"{spec.get('ttlSecondsAfterFinished')})")
        if not jobs:
            problems.append("no Job trains the model")
        return _judge(problems, "Bounded: " + "; ".join(seen) + ".",
                      "In the Job's `spec`: `backoffLimit: 2` (retries before it is failed) and "
                      "`ttlSecondsAfterFinished: 3600` (removed an hour after it ends); `restartPolicy: Never` in its "
                      "Pod template.")

    return Check(name, "The training Job has backoffLimit and ttlSecondsAfterFinished", points, Category.MANIFEST,
                 (Need.MANIFESTS,), run, tags=("kubernetes", "job"))


# --- live ---------------------------------------------------------------------------------------------------------

def deploys_on_cluster(points: float, name: str = "deploys_on_cluster") -> Check:
    """Applied to a real cluster in a namespace of the run's own (Pod Security `restricted` enforced), every Job
    completes and every Deployment becomes available. Skipped, with the reason, where no cluster answers."""

    def run(ctx: GradingContext) -> Outcome:
        result = ctx.cluster_result
        if result is None:
            return Outcome.skipped("The manifests were not applied: " + (kube_cluster.unavailable() or "no cluster run."))
        return Outcome.passed(result.message) if result.ok else Outcome.failed(result.message, result.hint)

    return Check(name, "Applied to a cluster, the Job completes and the API becomes ready", points, Category.MANIFEST,
                 (Need.CLUSTER,), run, tags=("kubernetes", "live"), skip_unless=kube_cluster.unavailable)

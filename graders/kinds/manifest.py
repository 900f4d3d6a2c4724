"""The steps of grading a manifest lab: read every YAML document the learner wrote, build nothing, and, only where
a Kubernetes cluster answers, apply them in a throwaway namespace (deleted at teardown, whatever happened).

Nothing here builds or runs a container: the static checks judge the documents, and without a cluster the live
checks are `skipped` with the reason (graders/kube_cluster.py).
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from graders import kube_cluster, manifest_model
from graders.check_model import Need, Phase
from graders.context import Blocker, GradingContext
from graders.errors import SubmissionError
from graders.kinds import Progress
from graders.spec import LabSpec

log = logging.getLogger("graders")


def folders(spec: LabSpec) -> tuple[str, ...]:
    """The folders that hold the lab's manifests: those of the files it names (`k8s/` for `k8s/deployment.yaml`).
    Every YAML file in them is read, as `kubectl apply -f k8s/` would, however the learner splits the objects."""
    return tuple(dict.fromkeys(str(PurePosixPath(name).parent) for name in spec.files
                               if name.endswith(manifest_model.SUFFIXES)))


def _parse(ctx: GradingContext, say: Progress) -> None:
    say("Reading the manifests")
    try:
        ctx.manifests = manifest_model.load(ctx.submission, folders(ctx.spec))
    except SubmissionError as exc:
        ctx.blockers[Phase.STATIC] = Blocker("parse", exc.message, exc.hint,
                                             summary="the manifests must parse first (see manifests_valid).")


def _build(ctx: GradingContext, say: Progress) -> None:
    """Nothing to build: the manifests name an image the learner pushed."""


def _start(ctx: GradingContext, say: Progress) -> None:
    """Apply the manifests to the cluster, where one answers and a check asks for it."""
    if ctx.manifests is None or not any(Need.CLUSTER in c.needs for c in ctx.spec.checks):
        return
    if kube_cluster.unavailable() is not None:
        return  # the live checks say why (their skip_unless)
    say("Applying the manifests to the cluster")
    ctx.cluster_namespace = f"mastery-{ctx.run_id}"[:63].lower()
    objects = [d.data for d in ctx.manifests.objects]
    wait_s = ctx.spec.limits.health_budget_s + ctx.spec.limits.run_timeout_s / 2
    ctx.cluster_result = kube_cluster.apply(objects, ctx.cluster_namespace, wait_s=wait_s)


def _teardown(ctx: GradingContext) -> None:
    if ctx.cluster_namespace is not None:
        try:
            kube_cluster.delete_namespace(ctx.cluster_namespace)
        except Exception:  # never let cleanup hide the verdict; the namespace is labelled managed-by=mastery
            log.debug("could not delete namespace %s", ctx.cluster_namespace, exc_info=True)


class ManifestKind:
    name = "manifest"
    parallel_runtime_checks = True  # the live checks read one result; none changes the cluster

    def provides(self, spec: LabSpec) -> frozenset[Need]:
        return frozenset({Need.FILES, Need.MANIFESTS, Need.CLUSTER})

    parse = staticmethod(_parse)
    build = staticmethod(_build)
    start = staticmethod(_start)
    teardown = staticmethod(_teardown)


KIND = ManifestKind()

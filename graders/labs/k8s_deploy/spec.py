"""Lab k8s-deploy: Kubernetes manifests for the iris model API of the ml-api lab (curriculum Part 6, corrected).

Graded from the manifests alone (graders/kinds/manifest.py); the one live check runs only where a cluster answers."""

from __future__ import annotations

from pathlib import Path

from graders.checks.kubernetes import (
    deploys_on_cluster,
    image_pinned,
    job_bounded,
    labels_match_selectors,
    manifests_valid,
    model_storage,
    probes_on_api,
    resources_set,
    secrets_by_reference,
    security_context,
    service_targets_container_port,
)
from graders.spec import LabSpec

API_PORT = 8080  # the ml-api lab's gunicorn binds 0.0.0.0:8080
HEALTH_PATH = "/health"  # and its app answers GET /health once the model is loaded

SPEC = LabSpec(
    id="k8s-deploy",
    title="Deploy the model API to Kubernetes",
    lesson="kubernetes.md",
    kind="manifest",
    files=("k8s/deployment.yaml", "k8s/service.yaml", "k8s/configmap.yaml", "k8s/storage.yaml", "k8s/training-job.yaml"),
    base_images=(),
    folder=Path(__file__).parent,
    port=None,
    checks=(
        manifests_valid(15, required=("Deployment", "Service", "ConfigMap", "PersistentVolumeClaim", "Job")),
        labels_match_selectors(10),
        service_targets_container_port(10, port=API_PORT),
        probes_on_api(10, path=HEALTH_PATH, port=API_PORT),
        resources_set(10),
        security_context(15),
        image_pinned(5),
        secrets_by_reference(10),
        model_storage(5),
        job_bounded(5),
        deploys_on_cluster(5),
    ),
)

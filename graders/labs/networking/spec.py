"""Lab networking: user-defined bridge networks, DNS by name and alias, an internal network, a port published on
127.0.0.1 only, and two services kept apart (curriculum: networking). An engine-state lab: the grader inspects the
learner's networks and containers and probes from its own short-lived containers attached to their networks."""

from __future__ import annotations

from pathlib import Path

from graders.checks.engine_network import (
    Box,
    Net,
    internal_network,
    isolated,
    network_made,
    published_on_loopback,
    reaches_by_name,
)
from graders.labels import task_label
from graders.spec import LabSpec

LAB = "networking"
LABEL = task_label(LAB)  # course.lab=networking
IMAGE = "python:3.13-slim"
DB_PORT = 5432  # the stand-in database: Python's http.server on PostgreSQL's port, up in well under a second
API_PORT = 8000
HOST_PORT = 8800
ALIAS = "database"

APP = Net("net-app", LABEL, f"docker network create --label {LABEL} net-app")
INTERNAL = Net("net-internal", LABEL, f"docker network create --internal --label {LABEL} net-internal", internal=True)
DB = Box("net-db", IMAGE, LABEL, f"docker run -d --name net-db --label {LABEL} --network net-app --network-alias {ALIAS} "
                                 f"{IMAGE} python -m http.server {DB_PORT}")
API = Box("net-api", IMAGE, LABEL, f"docker run -d --name net-api --label {LABEL} --network net-app "
                                   f"-p 127.0.0.1:{HOST_PORT}:{API_PORT} {IMAGE} python -m http.server {API_PORT}")
TEAM_A = Box("net-team-a", IMAGE, LABEL, f"docker run -d --name net-team-a --label {LABEL} --network net-a {IMAGE} "
                                         f"python -m http.server {API_PORT}")
TEAM_B = Box("net-team-b", IMAGE, LABEL, f"docker run -d --name net-team-b --label {LABEL} --network net-b {IMAGE} "
                                         f"python -m http.server {API_PORT}")

SPEC = LabSpec(
    id=LAB,
    title="Container networking",
    lesson="networking.md",
    kind="engine-state",
    files=(),
    base_images=(IMAGE,),
    folder=Path(__file__).parent,
    port=None,
    # Containers and networks: the proofs remove both, by these names and by the label.
    task_objects=(DB.name, API.name, TEAM_A.name, TEAM_B.name, APP.name, INTERNAL.name, "net-a", "net-b"),
    checks=(
        network_made(15, APP),
        reaches_by_name(20, API, DB, APP, DB_PORT, DB.name),
        reaches_by_name(15, API, DB, APP, DB_PORT, ALIAS, name="db_by_alias"),
        internal_network(20, INTERNAL, IMAGE),
        published_on_loopback(15, API, API_PORT, HOST_PORT),
        isolated(15, TEAM_A, TEAM_B, API_PORT),
    ),
)

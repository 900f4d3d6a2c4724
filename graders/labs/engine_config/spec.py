"""Lab engine-config: the `daemon.json` of a workstation that a data-science team shares. Logs capped, networks
from the team's range, containers kept through engine upgrades, root remapped, no privilege gain, Docker Hub through
the team's mirror, and no open socket. Read as dockerd reads it, and validated by the course engine's own dockerd."""

from __future__ import annotations

from pathlib import Path

from graders.checks.daemon_config import (
    address_pools,
    engine_accepts,
    live_restore,
    log_rotation,
    mirror,
    no_new_privileges,
    socket_private,
    userns_remap,
)
from graders.spec import LabSpec

MIRROR = "https://mirror.campus.example"

SPEC = LabSpec(
    id="engine-config",
    title="Configure the engine of a shared workstation",
    lesson="engine-config.md",
    kind="daemon-config",
    files=("daemon.json",),
    base_images=(),
    folder=Path(__file__).parent,
    port=None,
    checks=(
        engine_accepts(20),
        log_rotation(20, cap_mib=100),
        address_pools(15, networks=100),
        userns_remap(15),
        live_restore(10),
        mirror(10, MIRROR),
        no_new_privileges(5),
        socket_private(5),
    ),
)

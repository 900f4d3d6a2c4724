"""What the lessons say about pinning, checked: the bot configurations that keep a digest current are valid
for their tools, and the message apt prints for a version it cannot find is the one Security quotes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graders.spec import REPO_ROOT

SECURITY = REPO_ROOT / "course" / "samples" / "security"
BIN = Path(sys.executable).parent
SAMPLE_LABEL = "io.mastery.sample"
APT_MISSING_VERSION = "E: Version '2.0-1' for 'libc6' was not found"


@pytest.mark.parametrize(("sample", "schema"), [
    ("dependabot.yml", "vendor.dependabot"),
    ("renovate.json", "vendor.renovate"),
])
def test_bot_configuration_is_valid_for_its_tool(sample: str, schema: str) -> None:
    """check-jsonschema's copy of each tool's published schema: a wrong key or a missing `schedule` fails."""
    proc = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(SECURITY / sample)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_renovate_configuration_pins_docker_digests() -> None:
    """The schema accepts any preset name; the lesson's point is the digest pinning, so name it."""
    extends = json.loads((SECURITY / "renovate.json").read_text(encoding="utf-8"))["extends"]
    assert extends == ["config:recommended", "docker:pinDigests"]


@pytest.mark.engine
def test_apt_says_so_when_a_pinned_version_is_not_there() -> None:
    """The line Security quotes for a pin whose version left the archive, printed by apt on the engine (no
    network: the version is missing either way, and the test needs nothing from outside)."""
    from graders.engine import client

    container = client().containers.create("debian:trixie-slim", ["apt-get", "install", "-y", "libc6=2.0-1"],
                                           network_mode="none", labels={SAMPLE_LABEL: "1"})
    try:
        container.start()
        status = container.wait(timeout=120)
        output = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 100, output
    assert APT_MISSING_VERSION in output, output
    page = (REPO_ROOT / "course" / "security.md").read_text(encoding="utf-8")
    assert APT_MISSING_VERSION in page, "Security must quote what apt prints"

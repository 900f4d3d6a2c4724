"""The course engine's image, made offline the way the Debian stand-ins are: debootstrap a Debian with a
current Docker Engine, then `docker import` it on the host's engine. Debian's forky suite carries Engine 28,
buildx 0.29 and Compose 2.40 (measured 2026-11); they need a newer libc than bookworm's, so they live in a
container, never on the host."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

from graders import images
from graders.course_engine.places import IMAGE_REPO, ROLE_LABEL
from graders.errors import ImageError

SUITE = "forky"
DEBOOTSTRAP_SCRIPT = "/usr/share/debootstrap/scripts/sid"  # bookworm's debootstrap has no forky script
PACKAGES = ("docker.io", "docker-cli", "docker-buildx", "docker-compose", "containerd", "runc", "tini",
            "iptables", "ca-certificates")
ENTRYPOINT = "/usr/local/bin/mastery-engine"
RECIPE_REVISION = "1"  # bump when the image's making changes in a way the hash below cannot see


def _entrypoint_text() -> str:
    return resources.files("graders.course_engine").joinpath("entrypoint.sh").read_text()


def image_ref() -> str:
    """The image's name carries a hash of what makes it, so a changed recipe makes a new image."""
    digest = hashlib.sha256("\n".join([RECIPE_REVISION, SUITE, *PACKAGES, _entrypoint_text()]).encode()).hexdigest()
    return f"{IMAGE_REPO}:{digest[:12]}"


def build(host_env: Mapping[str, str], say: Callable[[str], None]) -> str:
    """Make the image on the host's engine (about a minute: debootstrap, then import); returns its ref."""
    ref = image_ref()
    with tempfile.TemporaryDirectory(prefix="mastery-course-engine-") as tmp:
        root = Path(tmp) / "root"
        say(f"debootstrap {SUITE} with {', '.join(PACKAGES[:4])} … (about a minute)")
        images.debootstrap(SUITE, root, include=PACKAGES, script=DEBOOTSTRAP_SCRIPT)
        images.slim(root)
        entry = root / ENTRYPOINT.lstrip("/")
        entry.write_text(_entrypoint_text())
        entry.chmod(0o755)
        say(f"importing {ref}")
        images.import_root(root, ref, [
            f"LABEL {ROLE_LABEL}=image",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "VOLUME /var/lib/docker",
            f'ENTRYPOINT ["/usr/bin/tini", "--", "{ENTRYPOINT}"]',
        ], env=dict(host_env))
    return ref


def copy_buildx(ref: str, host_env: Mapping[str, str], target: Path) -> None:
    """The buildx plugin out of the image (a Go program that runs on bookworm's libc too), for a host CLI that
    has none: `docker buildx` then works in the learner's terminal, and the grader builds with BuildKit."""
    created = subprocess.run(["docker", "create", ref], capture_output=True, text=True, env=dict(host_env), timeout=60)
    if created.returncode != 0:
        raise ImageError(f"Could not open the course engine image: {created.stderr.strip()[-300:]}")
    container = created.stdout.strip()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        copied = subprocess.run(["docker", "cp", f"{container}:/usr/libexec/docker/cli-plugins/docker-buildx",
                                 str(target)], capture_output=True, text=True, env=dict(host_env), timeout=120)
        if copied.returncode != 0:
            raise ImageError(f"Could not copy buildx out of the course engine image: {copied.stderr.strip()[-300:]}")
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, env=dict(host_env), timeout=60)

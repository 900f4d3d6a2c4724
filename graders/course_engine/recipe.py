"""The course engine's image, made offline the way the Debian stand-ins are: debootstrap a Debian with a
current Docker Engine, then `docker import` it on the host's engine. Debian's forky suite carries Engine 28,
buildx 0.29 and Compose 2.40 (measured 2026-11); they need a newer libc than bookworm's, so they live in a
container, never on the host."""

from __future__ import annotations

import hashlib
import os
import shutil
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
            "iptables", "iproute2", "ca-certificates", "socat", "procps")  # procps: `docker top` runs ps
ENTRYPOINT = "/usr/local/bin/mastery-engine"
RECIPE_REVISION = "1"  # bump when the image's making changes in a way the hash below cannot see


def _entrypoint_text() -> str:
    return resources.files("graders.course_engine").joinpath("entrypoint.sh").read_text()


def image_ref() -> str:
    """The image's name carries a hash of what makes it, so a changed recipe makes a new image."""
    digest = hashlib.sha256("\n".join([RECIPE_REVISION, SUITE, *PACKAGES, _entrypoint_text()]).encode()).hexdigest()
    return f"{IMAGE_REPO}:{digest[:12]}"


def build(host_env: Mapping[str, str], say: Callable[[str], None]) -> str:
    """Make the image on the host's engine; returns its ref. As root with debootstrap (Debian, Ubuntu, CI):
    debootstrap, then import, offline, about a minute. Elsewhere (Docker Desktop, a user without root): a
    Dockerfile FROM Debian's own forky image, which needs a registry."""
    ref = image_ref()
    if os.geteuid() != 0 or (shutil.which("debootstrap") is None and not Path("/etc/debian_version").exists()):
        return _build_from_registry(ref, host_env, say)
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


def _build_from_registry(ref: str, host_env: Mapping[str, str], say: Callable[[str], None]) -> str:
    say(f"building {ref} FROM debian:{SUITE}-slim (needs Docker Hub)")
    with tempfile.TemporaryDirectory(prefix="mastery-course-engine-") as tmp:
        (Path(tmp) / "mastery-engine").write_text(_entrypoint_text())
        (Path(tmp) / "Dockerfile").write_text(
            f"FROM debian:{SUITE}-slim\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            f"{' '.join(PACKAGES)} && rm -rf /var/lib/apt/lists/*\n"
            f"COPY --chmod=755 mastery-engine {ENTRYPOINT}\n"
            f"LABEL {ROLE_LABEL}=image\nVOLUME /var/lib/docker\n"
            f'ENTRYPOINT ["/usr/bin/tini", "--", "{ENTRYPOINT}"]\n')
        built = subprocess.run(["docker", "build", "-q", "-t", ref, tmp], capture_output=True, text=True,
                               env={**os.environ, **host_env}, timeout=1800)
    if built.returncode != 0:
        raise ImageError(f"The course engine's image could not be built: {built.stderr.strip()[-400:]}",
                         "Offline, build it as root on Debian/Ubuntu (debootstrap); or grade on your own engine: "
                         "MASTERY_ENGINE=host.")
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
        # -v: the image declares VOLUME /var/lib/docker, so even a created container has an anonymous volume.
        subprocess.run(["docker", "rm", "-f", "-v", container], capture_output=True, env=dict(host_env), timeout=60)

"""Base images the labs build on: pulled where a registry answers, else built here as labelled stand-ins.

A stand-in is a minimal Debian made with debootstrap and `docker import`, with Debian's Python on top
for the python:*-slim names. It carries the host's CA bundle, so pip works behind an intercepting proxy.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from graders import engine
from graders.errors import ImageError
from graders.labels import STAND_IN_FOR_LABEL, STAND_IN_LABEL

HOST_CA_BUNDLE = Path(os.environ.get("MASTERY_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
CA_IN_IMAGE = "/usr/local/share/ca-certificates/mastery-host-ca.crt"
MIRROR = os.environ.get("MASTERY_DEBIAN_MIRROR", "http://deb.debian.org/debian")


@dataclass(frozen=True)
class Recipe:
    """How to make a stand-in: the Debian suite, whether Python goes on top, and the environment the
    real image sets that lessons and checks rely on."""

    suite: str
    python: bool
    env: tuple[tuple[str, str], ...] = ()

    @property
    def debian_ref(self) -> str:
        return f"debian:{self.suite}-slim"


RECIPES: dict[str, Recipe] = {
    "debian:bookworm-slim": Recipe("bookworm", python=False),
    "debian:trixie-slim": Recipe("trixie", python=False),
    "python:3.11-slim": Recipe("bookworm", python=True),  # Debian 12 ships Python 3.11
    "python:3.13-slim": Recipe("trixie", python=True),  # Debian 13 ships Python 3.13
    # NVIDIA's CUDA runtime image is Ubuntu with the CUDA libraries; offline, the stand-in is Debian with
    # the environment NVIDIA's images set (the container toolkit reads it to hand GPUs over). No CUDA
    # libraries: the driver's libcuda comes from the host when a GPU is given.
    "nvidia/cuda:12.8.1-runtime-ubuntu24.04": Recipe("trixie", python=False, env=(
        ("NVIDIA_VISIBLE_DEVICES", "all"), ("NVIDIA_DRIVER_CAPABILITIES", "compute,utility"),
        ("CUDA_VERSION", "12.8.1"), ("NVIDIA_REQUIRE_CUDA", "cuda>=12.8"))),
}


@dataclass(frozen=True)
class ImageStatus:
    ref: str
    present: bool
    stand_in: bool
    size_mb: float


def status(ref: str) -> ImageStatus:
    try:
        image = engine.client().images.get(ref)
    except docker.errors.ImageNotFound:
        return ImageStatus(ref, False, False, 0.0)
    labels = image.labels or {}
    return ImageStatus(ref, True, labels.get(STAND_IN_LABEL) == "true", int(image.attrs.get("Size", 0)) / 1e6)


def course_images(lab_ids: Iterable[str] | None = None) -> list[str]:
    """The base images the named labs need; without names, every image the course teaches with
    (the labs' and the Debian and Python images the lessons use), in a stable order."""
    from graders.labs import all_labs, get_lab

    if lab_ids:
        return sorted({ref for lab_id in lab_ids for ref in get_lab(lab_id).base_images})
    return sorted({ref for spec in all_labs().values() for ref in spec.base_images} | set(RECIPES))


def prepare(refs: Iterable[str], offline: bool | None = None, say: Callable[[str], None] = print) -> list[ImageStatus]:
    """Make every ref present. offline=None tries a pull first and falls back to stand-ins."""
    done: list[ImageStatus] = []
    for ref in refs:
        current = status(ref)
        if current.present:
            done.append(current)
            continue
        if offline is not True:
            if _pull(ref, say):
                done.append(status(ref))
                continue
            if offline is False:
                raise ImageError(f"Could not pull {ref}.", "Check your network, or run with --offline to build stand-ins.")
            offline = True  # no registry: do not wait on it again for the next image
        done.append(build_stand_in(ref, say))
    return done


def _pull(ref: str, say: Callable[[str], None]) -> bool:
    say(f"pulling {ref}")
    try:
        engine.client().images.pull(ref)
        return True
    except docker.errors.APIError as exc:
        say(f"could not pull {ref} ({str(exc.explanation or exc)[:120]}); building a local stand-in")
        return False


def build_stand_in(ref: str, say: Callable[[str], None] = print) -> ImageStatus:
    recipe = RECIPES.get(ref)
    if recipe is None:
        raise ImageError(f"{ref} cannot be pulled and there is no recipe for a stand-in.",
                         f"Stand-ins exist for: {', '.join(RECIPES)}.")
    if not status(recipe.debian_ref).present:
        _import_debian(recipe.suite, say)
    if recipe.python or recipe.env:
        _build_on_debian(ref, recipe, say)
    return status(ref)


def _import_debian(suite: str, say: Callable[[str], None]) -> None:
    ref = f"debian:{suite}-slim"
    debootstrap = shutil.which("debootstrap") or _install_debootstrap(say)
    if debootstrap is None:
        raise ImageError("debootstrap is needed to build Debian stand-ins offline.",
                         "Install it (apt-get install debootstrap) or run on a machine that can pull images.")
    with tempfile.TemporaryDirectory(prefix=f"mastery-{suite}-") as tmp:
        root = Path(tmp) / "root"
        say(f"debootstrap {suite} (minbase) for {ref}")
        proc = subprocess.run([debootstrap, "--variant=minbase", suite, str(root), MIRROR],
                              capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise ImageError(f"debootstrap {suite} failed: {(proc.stderr or proc.stdout).strip()[-400:]}",
                             "Check that the Debian mirror is reachable (MASTERY_DEBIAN_MIRROR).")
        _slim(root)
        changes = [
            f"LABEL {STAND_IN_LABEL}=true",
            f"LABEL {STAND_IN_FOR_LABEL}={ref}",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            'CMD ["bash"]',
        ]
        argv = ["docker", "import"]
        for change in changes:
            argv += ["--change", change]
        say(f"importing {ref}")
        tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run([*argv, "-", ref], stdin=tar.stdout, capture_output=True, text=True, timeout=600)
        tar.wait()
        if imported.returncode != 0:
            raise ImageError(f"docker import of {ref} failed: {imported.stderr.strip()[-400:]}")


def _install_debootstrap(say: Callable[[str], None]) -> str | None:
    """As root on Debian/Ubuntu, install debootstrap from the distribution; elsewhere leave it to the user."""
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists() or shutil.which("apt-get") is None:
        return None
    say("installing debootstrap (apt-get install debootstrap)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "debootstrap"]):
        if subprocess.run(argv, capture_output=True, env=env, timeout=900).returncode != 0:
            return None
    return shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None)


def _slim(root: Path) -> None:
    """Trim the root filesystem the way the official -slim images are trimmed."""
    for folder in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info"):
        target = root / folder
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                elif child.name not in ("lock", "partial"):
                    child.unlink()
    dpkg = root / "etc/dpkg/dpkg.cfg.d/docker-slim"
    dpkg.parent.mkdir(parents=True, exist_ok=True)
    dpkg.write_text("path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
                    "path-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n")


PYTHON_LAYER = """\
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-pip python3-venv ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && ln -sf /usr/bin/python3 /usr/local/bin/python \\
 && ln -sf /usr/bin/pip3 /usr/local/bin/pip \\
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
"""
STAND_IN_DOCKERFILE = """\
FROM {base}
{ca_copy}
{python}ENV LANG=C.UTF-8{ca_env}{env}
LABEL {stand_in}=true {stand_in_for}={ref}
CMD [{cmd}]
"""


def _build_on_debian(ref: str, recipe: Recipe, say: Callable[[str], None]) -> None:
    files: dict[str, bytes] = {}
    ca_copy, ca_env = "", ""
    if HOST_CA_BUNDLE.is_file():
        files["host-ca.crt"] = HOST_CA_BUNDLE.read_bytes()
        ca_copy = f"COPY host-ca.crt {CA_IN_IMAGE}"
        ca_env = f" PIP_CERT={CA_IN_IMAGE} SSL_CERT_FILE={CA_IN_IMAGE} REQUESTS_CA_BUNDLE={CA_IN_IMAGE}"
    env = "".join(f" {key}={value}" for key, value in recipe.env)
    files["Dockerfile"] = STAND_IN_DOCKERFILE.format(
        base=recipe.debian_ref, ca_copy=ca_copy, ca_env=ca_env, env=env, python=PYTHON_LAYER if recipe.python else "",
        stand_in=STAND_IN_LABEL, stand_in_for=STAND_IN_FOR_LABEL, ref=ref,
        cmd='"python3"' if recipe.python else '"bash"').encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    say(f"building {ref} on {recipe.debian_ref}" + (" with Debian's python3" if recipe.python else ""))
    try:
        engine.client().images.build(fileobj=buffer, custom_context=True, tag=ref, rm=True, forcerm=True)
    except docker.errors.BuildError as exc:
        tail = "\n".join(str(line.get("stream", line.get("error", ""))).rstrip() for line in list(exc.build_log)[-10:])
        raise ImageError(f"building the {ref} stand-in failed:\n{tail}") from exc

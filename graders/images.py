"""Base images the labs build on: pulled where a registry answers, else built here as labelled stand-ins.

A stand-in is a minimal Debian made with debootstrap and `docker import`, with CPython built from source
into /usr/local on top for the python:*-slim names, as the official images have it (stand_in_python).
It carries the host's CA bundle, so pip works behind an intercepting proxy.
Stand-ins stack: postgres:17 is Debian's PostgreSQL 17 with an entrypoint that keeps the official image's
POSTGRES_* contract, and MLflow's tracking image is the python:3.11-slim stand-in with mlflow pip-installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import docker.errors

from graders import engine
from graders.errors import ImageError
from graders.labels import STAND_IN_FOR_LABEL, STAND_IN_LABEL, STAND_IN_REVISION_LABEL
from graders.package_cache import service as package_cache
from graders.stand_in_python import BOOKWORM_PYTHON, TRIXIE_PYTHON, CPython
from graders.stand_in_python import layers as python_layers
from graders.tar_stream import tar_bytes

HOST_CA_BUNDLE = Path(os.environ.get("MASTERY_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
CA_IN_IMAGE = "/usr/local/share/ca-certificates/mastery-host-ca.crt"
MIRROR = os.environ.get("MASTERY_DEBIAN_MIRROR", "http://deb.debian.org/debian")


MLFLOW_VERSION = "3.17.2"
MLFLOW_IMAGE = f"ghcr.io/mlflow/mlflow:v{MLFLOW_VERSION}"
POSTGRES_IMAGE = "postgres:17"
REGISTRY_IMAGE = "registry:2"
STAND_IN_FILES = "stand_ins"  # folder in this package with the files stand-ins COPY (entrypoints)
BUILD_TIMEOUT_S = 1800  # a stalled build must end; the slowest stand-in (mlflow's pip install) takes minutes


@dataclass(frozen=True)
class Recipe:
    """How to make a stand-in. Either `suite`: a Debian made with debootstrap and imported as it is; or
    `base`: a Dockerfile FROM another ref (itself a stand-in where no registry answers) that adds what the
    real image has and lessons or compose labs rely on: CPython in /usr/local, environment, build lines, files
    from graders/stand_ins, and the real image's VOLUME, EXPOSE, ENTRYPOINT and CMD. On an imported Debian
    the host CA bundle and LANG go in first; a stand-in built on another one inherits them."""

    suite: str | None = None
    base: str | None = None
    python: CPython | None = None  # built into /usr/local as the official python images have it
    env: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()  # Dockerfile instructions, after the environment and before the files
    files: tuple[tuple[str, str], ...] = ()  # (file in graders/stand_ins, path in the image); *.sh are executable
    volumes: tuple[str, ...] = ()
    expose: tuple[int, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] | None = None  # None: python3 or bash on an imported Debian, else the base's own

    def __post_init__(self) -> None:
        if (self.suite is None) == (self.base is None):
            raise ValueError("a recipe names either a Debian suite to import or a base image to build on")


# Debian's PostgreSQL packages made to look like the official image: its uid/gid 999 (volumes keep the
# owner), no cluster of Debian's own (postgresql-common would make one in /var/lib/postgresql/17/main),
# a sample config that listens on every address, the socket folder, and a data folder any user may use.
# `apt-get clean`: the imported Debian keeps downloaded packages (170 MB here), the official images do not.
POSTGRES_LAYER = r"""RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && mkdir -p /var/lib/postgresql && chown postgres:postgres /var/lib/postgresql \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-common \
 && sed -ri 's/^#?(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf \
 && apt-get install -y --no-install-recommends postgresql-17 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && sed -ri "s/^#?(listen_addresses)\s*=\s*\S+/\1 = '*'/" /usr/share/postgresql/17/postgresql.conf.sample \
 && grep -q "^listen_addresses = '\*'" /usr/share/postgresql/17/postgresql.conf.sample \
 && mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d "$PGDATA" \
 && chown postgres:postgres /var/run/postgresql "$PGDATA" \
 && chmod 3777 /var/run/postgresql \
 && chmod 1777 "$PGDATA"
"""

REGISTRY_LAYER = r"""RUN apt-get update \
 && apt-get install -y --no-install-recommends docker-registry \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/docker-registry /usr/local/bin/registry \
 && mkdir -p /var/lib/registry
"""

RECIPES: dict[str, Recipe] = {
    "debian:bookworm-slim": Recipe(suite="bookworm"),
    "debian:trixie-slim": Recipe(suite="trixie"),
    "python:3.11-slim": Recipe(base="debian:bookworm-slim", python=BOOKWORM_PYTHON),  # Debian 12's release
    "python:3.13-slim": Recipe(base="debian:trixie-slim", python=TRIXIE_PYTHON),  # Debian 13's release
    # The exact tag the secure-runtime lab pins. The same layers as python:3.13-slim (a rebuild takes them
    # from the cache), and a check that the release built is the one the tag names.
    "python:3.13.5-slim": Recipe(base="debian:trixie-slim", python=TRIXIE_PYTHON, lines=(
        "RUN python3 -c 'import sys; assert sys.version_info[:3] == (3, 13, 5), sys.version'",)),
    # NVIDIA's CUDA runtime image is Ubuntu with the CUDA libraries; offline, the stand-in is Debian with
    # the environment NVIDIA's images set (the container toolkit reads it to hand GPUs over). No CUDA
    # libraries: the driver's libcuda comes from the host when a GPU is given.
    "nvidia/cuda:12.8.1-runtime-ubuntu24.04": Recipe(base="debian:trixie-slim", env=(
        ("NVIDIA_VISIBLE_DEVICES", "all"), ("NVIDIA_DRIVER_CAPABILITIES", "compute,utility"),
        ("CUDA_VERSION", "12.8.1"), ("NVIDIA_REQUIRE_CUDA", "cuda>=12.8"))),
    # Debian 13 ships PostgreSQL 17; the entrypoint honours the official image's POSTGRES_* contract.
    # SIGINT is PostgreSQL's fast shutdown: `docker stop` ends it cleanly in well under its 10 s.
    POSTGRES_IMAGE: Recipe(
        base="debian:trixie-slim",
        env=(("PG_MAJOR", "17"), ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/17/bin"),
             ("PGDATA", "/var/lib/postgresql/data")),
        lines=(POSTGRES_LAYER, "STOPSIGNAL SIGINT"),
        files=(("postgres-entrypoint.sh", "/usr/local/bin/docker-entrypoint.sh"),),
        volumes=("/var/lib/postgresql/data",), expose=(5432,),
        entrypoint=("docker-entrypoint.sh",), cmd=("postgres",)),
    # The registry lab's local registry. Debian 13 packages distribution 2.8, the release registry:2 runs; it is
    # set up as the official image is: the binary as `registry`, its config (no authentication, blobs in the
    # volume /var/lib/registry), port 5000, `registry serve CONFIG`.
    REGISTRY_IMAGE: Recipe(
        base="debian:trixie-slim",
        lines=(REGISTRY_LAYER,),
        files=(("registry-config.yml", "/etc/docker/registry/config.yml"),),
        volumes=("/var/lib/registry",), expose=(5000,),
        entrypoint=("registry", "serve"), cmd=("/etc/docker/registry/config.yml",)),
    # MLflow's own image is python:3.11-slim with `pip install mlflow==VERSION` and nothing else: no CMD of
    # its own, and no database driver (compose files add psycopg2-binary in a Dockerfile FROM it).
    MLFLOW_IMAGE: Recipe(base="python:3.11-slim", lines=(f"RUN pip install --no-cache-dir mlflow=={MLFLOW_VERSION}",)),
}


# Bump when slim or the import changes what an imported Debian holds (OFFICIAL_APT_SETTINGS counts by
# itself): every stand-in is then rebuilt.
IMPORT_REVISION = "2"


def revision(ref: str) -> str:
    """A digest of everything that makes ref's stand-in, its base's included. A stand-in labelled with
    another revision was made by an older recipe, and `prepare` rebuilds it."""
    recipe = RECIPES[ref]
    parts = [repr(recipe)]
    if on_imported_debian(recipe) and (trusted := cache_ca()) is not None:
        parts.append(package_cache.fingerprint(trusted))
    if recipe.suite is not None:
        parts += [IMPORT_REVISION, repr(OFFICIAL_APT_SETTINGS)]
    if recipe.python is not None:
        parts += python_layers(recipe.python, MIRROR)
    parts += [(resources.files("graders") / STAND_IN_FILES / name).read_text() for name, _target in recipe.files]
    if recipe.base in RECIPES:
        parts.append(revision(recipe.base))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ImageStatus:
    ref: str
    present: bool
    stand_in: bool
    size_mb: float
    stale: bool = False  # a stand-in an older recipe made

    @property
    def kind(self) -> str:
        return ("stand-in (out of date)" if self.stale else "stand-in") if self.stand_in else "real"


def status(ref: str) -> ImageStatus:
    try:
        image = engine.client().images.get(ref)
    except docker.errors.ImageNotFound:
        return ImageStatus(ref, False, False, 0.0)
    labels = image.labels or {}
    stand_in = labels.get(STAND_IN_LABEL) == "true"
    stale = stand_in and ref in RECIPES and labels.get(STAND_IN_REVISION_LABEL) != revision(ref)
    return ImageStatus(ref, True, stand_in, int(image.attrs.get("Size", 0)) / 1e6, stale)


def stand_in_note(bases: Iterable[str]) -> str:
    """A sentence for a failed build's hint when it built on a stand-in: the learner may have done nothing wrong
    for the official image. Empty when every base is a real image (or not present)."""
    stand_ins = [ref for ref in dict.fromkeys(bases) if status(ref).stand_in]
    if not stand_ins:
        return ""
    pythons = [f"{ref} holds CPython {RECIPES[ref].python.version}" for ref in stand_ins  # type: ignore[union-attr]
               if ref in RECIPES and RECIPES[ref].python is not None]
    differs = ("; its Python is built from source into /usr/local as the official image's is, but at the release "
               f"Debian carries ({', '.join(pythons)}; the official tag may hold a later one)") if pythons else ""
    return (f" Note: {', '.join(stand_ins)} here {'is' if len(stand_ins) == 1 else 'are'} the course's offline "
            f"stand-in, not the official image{differs}.")


def prepare(refs: Iterable[str], offline: bool | None = None, say: Callable[[str], None] = print) -> list[ImageStatus]:
    """Make every ref present. offline=None tries a pull first and falls back to stand-ins. Refs built on
    another ref come after it, so a stand-in's base is ready (pulled, or built) before the stand-in needs it."""
    done: list[ImageStatus] = []
    for ref in in_build_order(refs):
        current = status(ref)
        if current.present and not current.stale:
            done.append(current)
            continue
        if current.stale:  # an older recipe made it: rebuild it, never pull over a stand-in the learner relies on
            say(f"{ref}: the stand-in was made by an older recipe; rebuilding it")
            done.append(build_stand_in(ref, say))
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


def in_build_order(refs: Iterable[str]) -> list[str]:
    """refs with every stand-in after the ones it builds on (stable otherwise)."""
    return sorted(refs, key=_depth)


def _depth(ref: str) -> int:
    """How many recipes lie under ref: 0 for an imported Debian or an image without a recipe."""
    recipe = RECIPES.get(ref)
    return 0 if recipe is None or recipe.base is None else 1 + _depth(recipe.base)


def _pull(ref: str, say: Callable[[str], None]) -> bool:
    say(f"pulling {ref}")
    try:
        engine.client().images.pull(ref)
        return True
    except docker.errors.APIError as exc:
        say(f"could not pull {ref} ({str(exc.explanation or exc)[:120]}); building a local stand-in")
        return False


def build_stand_in(ref: str, say: Callable[[str], None] = print) -> ImageStatus:
    """Build ref's stand-in, first making its base present the same way (a chain ends at an imported Debian)."""
    recipe = RECIPES.get(ref)
    if recipe is None:
        raise ImageError(f"{ref} cannot be pulled and there is no recipe for a stand-in.",
                         f"Stand-ins exist for: {', '.join(RECIPES)}.")
    if recipe.suite is not None:
        current = status(ref)
        if not current.present or current.stale:
            _import_debian(recipe.suite, say)
    elif recipe.base is not None:
        base = status(recipe.base)
        if not base.present or base.stale:
            build_stand_in(recipe.base, say)
        _build(ref, recipe, say)
    return status(ref)


def _import_debian(suite: str, say: Callable[[str], None]) -> None:
    ref = f"debian:{suite}-slim"
    with tempfile.TemporaryDirectory(prefix=f"mastery-{suite}-") as tmp:
        root = Path(tmp) / "root"
        say(f"debootstrap {suite} (minbase) for {ref}")
        debootstrap(suite, root)
        slim(root)
        say(f"importing {ref}")
        import_root(root, ref, [
            f"LABEL {STAND_IN_LABEL}=true",
            f"LABEL {STAND_IN_FOR_LABEL}={ref}",
            f"LABEL {STAND_IN_REVISION_LABEL}={revision(ref)}",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            'CMD ["bash"]',
        ])


def debootstrap(suite: str, root: Path, include: Iterable[str] = (), script: str | None = None) -> None:
    """A minimal Debian `suite` in `root`, with the packages in `include`; `script` is debootstrap's script for
    a suite its own release does not know (bookworm's has none for forky: the sid one serves)."""
    program = shutil.which("debootstrap") or _install_debootstrap()
    if program is None:
        raise ImageError("debootstrap is needed to build Debian images offline.",
                         "Install it (apt-get install debootstrap) or run on a machine that can pull images.")
    argv = [program, "--variant=minbase", *([f"--include={','.join(include)}"] if include else []), suite, str(root), MIRROR]
    proc = subprocess.run([*argv, *([script] if script else [])], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise ImageError(f"debootstrap {suite} failed: {(proc.stderr or proc.stdout).strip()[-400:]}",
                         "Check that the Debian mirror is reachable (MASTERY_DEBIAN_MIRROR).")


def import_root(root: Path, ref: str, changes: Iterable[str], env: dict[str, str] | None = None) -> None:
    """`docker import` a root filesystem as `ref` with Dockerfile `changes`, into the grading engine (or the one
    `env` points at)."""
    argv = ["docker", "import"]
    for change in changes:
        argv += ["--change", change]
    tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run([*argv, "-", ref], stdin=tar.stdout, capture_output=True, text=True, timeout=600,
                              env={**os.environ, **(env if env is not None else engine.address().env())})
    tar.wait()
    if imported.returncode != 0:
        raise ImageError(f"docker import of {ref} failed: {imported.stderr.strip()[-400:]}")


def _install_debootstrap() -> str | None:
    """As root on Debian/Ubuntu, install debootstrap from the distribution; elsewhere leave it to the user."""
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists() or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "debootstrap"]):
        if subprocess.run(argv, capture_output=True, env=env, timeout=900).returncode != 0:
            return None
    return shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None)


def slim(root: Path) -> None:
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
    apt = root / "etc/apt/apt.conf.d"
    apt.mkdir(parents=True, exist_ok=True)
    for name, text in OFFICIAL_APT_SETTINGS.items():
        (apt / name).write_text(text)


# What the official Debian images set for apt, so that a stand-in behaves like them where the lessons say
# so: docker-clean deletes every downloaded package after apt runs (which is why an apt cache mount stays
# empty until it is removed), and neither translations nor uncompressed package lists are kept.
_DELETE_DOWNLOADS = '"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"'
OFFICIAL_APT_SETTINGS = {
    "docker-clean": (f"DPkg::Post-Invoke {{ {_DELETE_DOWNLOADS}; }};\n"
                     f"APT::Update::Post-Invoke {{ {_DELETE_DOWNLOADS}; }};\n"
                     'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'),
    "docker-no-languages": 'Acquire::Languages "none";\n',
    "docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
}


def cache_ca() -> Path | None:
    """The package cache's authority, which the stand-ins trust beside the host's bundle so that their builds may
    go through the cache (graders/package_cache); None when the cache is off."""
    if not package_cache.wanted() or not HOST_CA_BUNDLE.is_file():
        return None
    return package_cache.authority().cert_path


def on_imported_debian(recipe: Recipe) -> bool:
    """Whether recipe builds straight on an imported Debian, which lacks the host CA and LANG."""
    base = RECIPES.get(recipe.base or "")
    return base is not None and base.suite is not None


def dockerfile(ref: str, recipe: Recipe, with_ca: bool) -> str:
    """The stand-in's Dockerfile. The order (CA, Python, ENV, lines, files, LABEL, CMD) keeps the layers
    that take long (apt-get, pip) ahead of the cheap ones, and the stand-ins made before recipes could
    stack on each other keep their exact instructions, so a rebuild takes them from the build cache."""
    out = [f"FROM {recipe.base}"]
    env = [f"{key}={value}" for key, value in recipe.env]
    if on_imported_debian(recipe):
        if with_ca:
            out.append(f"COPY host-ca.crt {CA_IN_IMAGE}")
            env[:0] = [f"PIP_CERT={CA_IN_IMAGE}", f"SSL_CERT_FILE={CA_IN_IMAGE}", f"REQUESTS_CA_BUNDLE={CA_IN_IMAGE}"]
        env.insert(0, "LANG=C.UTF-8")
    if recipe.python is not None:
        out += python_layers(recipe.python, MIRROR)
    if env:
        out.append("ENV " + " ".join(env))
    out += recipe.lines
    out += [f"COPY {Path(name).name} {target}" for name, target in recipe.files]
    out += [f"VOLUME {json.dumps(list(recipe.volumes))}"] if recipe.volumes else []
    out += [f"EXPOSE {' '.join(str(port) for port in recipe.expose)}"] if recipe.expose else []
    trusts = ""
    if with_ca and on_imported_debian(recipe) and (trusted := cache_ca()) is not None:
        # Late, so that the long layers above (CPython built from source) stay in the build cache.
        out.append(f"COPY trusted-ca.crt {CA_IN_IMAGE}")
        trusts = f" {package_cache.CA_LABEL}={package_cache.fingerprint(trusted)}"
    out.append(f"LABEL {STAND_IN_LABEL}=true {STAND_IN_FOR_LABEL}={ref} {STAND_IN_REVISION_LABEL}={revision(ref)}{trusts}")
    out += [f"ENTRYPOINT {json.dumps(list(recipe.entrypoint))}"] if recipe.entrypoint else []
    cmd = recipe.cmd
    if cmd is None and on_imported_debian(recipe):
        cmd = ("python3",) if recipe.python is not None else ("bash",)
    out += [f"CMD {json.dumps(list(cmd))}"] if cmd is not None else []
    return "".join(line.rstrip("\n") + "\n" for line in out)


def _context(ref: str, recipe: Recipe) -> bytes:
    """The build context as a tar: the Dockerfile, the host CA where one goes in, and the recipe's files
    (shell scripts executable: the legacy builder has no COPY --chmod, it keeps the mode of the tar)."""
    with_ca = on_imported_debian(recipe) and HOST_CA_BUNDLE.is_file()
    files: dict[str, tuple[bytes, int]] = {"Dockerfile": (dockerfile(ref, recipe, with_ca).encode(), 0o644)}
    if with_ca:
        files["host-ca.crt"] = (HOST_CA_BUNDLE.read_bytes(), 0o644)
        if (trusted := cache_ca()) is not None:
            files["trusted-ca.crt"] = (HOST_CA_BUNDLE.read_bytes() + b"\n" + trusted.read_bytes(), 0o644)
    for name, _target in recipe.files:
        data = (resources.files("graders") / STAND_IN_FILES / name).read_bytes()
        files[Path(name).name] = (data, 0o755 if name.endswith(".sh") else 0o644)
    return tar_bytes(files)


def _build(ref: str, recipe: Recipe, say: Callable[[str], None]) -> None:
    python = f" with CPython {recipe.python.version} built from source (minutes)" if recipe.python else ""
    say(f"building {ref} on {recipe.base}{python}")
    replaced = _image_id(ref)
    try:
        built, _log = engine.client().images.build(fileobj=io.BytesIO(_context(ref, recipe)), custom_context=True,
                                                   tag=ref, rm=True, forcerm=True, timeout=BUILD_TIMEOUT_S)
    except docker.errors.BuildError as exc:
        tail = "\n".join(str(line.get("stream", line.get("error", ""))).rstrip() for line in list(exc.build_log)[-10:])
        raise ImageError(f"building the {ref} stand-in failed:\n{tail}") from exc
    if replaced is not None and replaced != built.id:
        # The tag moved to the new build: the old stand-in (160-190 MB) would stay behind untagged. The engine
        # refuses while a container or another image still uses it, and then it stays.
        with contextlib.suppress(docker.errors.APIError):
            engine.client().images.remove(replaced, noprune=False)


def _image_id(ref: str) -> str | None:
    try:
        return str(engine.client().images.get(ref).id)
    except docker.errors.ImageNotFound:
        return None

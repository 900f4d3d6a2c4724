"""`mastery engine start|stop|status|reset`: the course engine's life on the host's engine.

Start is idempotent: it makes the image if missing, starts the container if stopped, replaces a stale socket,
waits until the engine answers, registers the `mastery` Docker context and hands the engine the course's base
images from the host (image IDs survive `docker save | docker load`, so nothing is rebuilt). What it creates on
the host: the image, the container, the volume, the state folder (socket and shared folder) and the context.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker import DockerClient
from docker.models.containers import Container

from graders.course_engine import places, recipe
from graders.engine import BUILDKIT_DEFAULT_FROM
from graders.engine_address import COURSE, HOST, EngineAddress, resolve
from graders.errors import EngineUnavailable, GraderError

Say = Callable[[str], None]
READY_S = 90.0  # dockerd in a container answers in 2-10 s; a first start on a slow disk takes longer
PLUGIN_MARK = ".mastery"  # beside a CLI plugin this project installed, so a later start may replace it


@dataclass(frozen=True)
class EngineStatus:
    state: str  # "absent", "stopped", "unresponsive" or "running"
    url: str
    version: str = ""
    api: str = ""
    builder: str = ""
    published_host: str = ""
    detail: str = ""  # what is wrong, when it is not running
    fix: str = ""


def host_address() -> EngineAddress:
    """The engine the course engine runs on: the one the Docker CLI would use, never the course engine."""
    return resolve(HOST)


def _host_client() -> DockerClient:
    host = host_address()
    try:
        made = docker.from_env(timeout=120, environment=host.env())
        made.ping()
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(f"The course engine runs as a container, and no Docker Engine answers at {host.url} "
                                f"to run it ({exc}).",
                                "Start Docker (Docker Desktop, or `sudo bash scripts/bootstrap-engine.sh` on Debian/"
                                "Ubuntu), then run `mastery engine start` again.") from exc
    return made


def _container(host: DockerClient) -> Container | None:
    try:
        return host.containers.get(places.name())
    except docker.errors.NotFound:
        return None


def _engine_client(timeout: int = 10) -> DockerClient | None:
    """A client of the course engine when its socket answers, else None."""
    if not places.socket_path().is_socket():
        return None
    try:
        made = DockerClient(base_url=places.url(), timeout=timeout)
        made.ping()
        return made
    except docker.errors.DockerException:
        return None


def status() -> EngineStatus:
    url = places.url()
    container = _container(_host_client())
    if container is None:
        return EngineStatus("absent", url, detail="The course engine has not been started on this machine.",
                            fix="mastery engine start")
    if container.status == "paused":
        return EngineStatus("unresponsive", url, detail="The course engine's container is paused, so its socket "
                            f"({places.socket_path()}) does not answer.", fix="mastery engine start (it resumes the engine)")
    if container.status != "running":
        return EngineStatus("stopped", url, detail=f"The course engine's container is {container.status}.",
                            fix="mastery engine start")
    made = _engine_client()
    if made is None:
        logs = container.logs(tail=3).decode(errors="replace").strip().replace("\n", " | ")
        return EngineStatus("unresponsive", url, detail=f"The course engine's container runs, but its socket "
                            f"({places.socket_path()}) does not answer. Its last log lines: {logs or 'none'}",
                            fix="mastery engine start (it restarts the engine), or mastery engine reset")
    version = made.version()
    labels = dict(item.split("=", 1) for item in made.info().get("Labels") or [] if "=" in item)
    major = int(str(version.get("Version", "0")).split(".")[0] or 0)
    return EngineStatus("running", url, version=str(version.get("Version", "")), api=str(version.get("ApiVersion", "")),
                        builder="BuildKit" if major >= BUILDKIT_DEFAULT_FROM else "legacy",
                        published_host=labels.get(places.PUBLISHED_HOST_LABEL, ""))


def start(say: Say = print, seed: Iterable[str] = ()) -> EngineStatus:
    """Start it, or do nothing where it runs and answers; `seed`: the base images to copy in from the host."""
    host = _host_client()
    ref = _image(host, say)
    container = _container(host)
    if container is not None and container.image is not None and ref not in container.image.tags:
        say("the course engine's recipe changed: replacing its container (its volume, and so its images, stay)")
        container.remove(force=True)
        container = None
    if container is not None and container.labels.get(SETTINGS_LABEL) != _settings_text():
        say("the course engine's settings changed (shared folders, MTU or build limits): replacing its container "
            "(its volume stays)")
        container.remove(force=True)
        container = None
    if container is None:
        container = _create(host, ref)
        say(f"starting the course engine ({places.name()})")
        container.start()
    elif container.status == "paused":
        say("resuming the course engine (its container was paused)")
        container.unpause()
    elif container.status != "running":
        say("starting the course engine again")
        places.socket_path().unlink(missing_ok=True)  # left by an engine that did not stop cleanly
        container.start()
    elif _engine_client() is None and not _answers_within(container, 15.0):
        say("the course engine runs but does not answer: restarting it")
        container.restart(timeout=20)
    if not _answers_within(container, READY_S):
        container.reload()
        logs = container.logs(tail=10).decode(errors="replace").strip()
        raise GraderError(f"The course engine did not answer within {READY_S:.0f} s (its container is "
                          f"{container.status}). Its last log lines:\n{logs}",
                          "Run `mastery engine reset`; if that fails too, grade on your own engine: MASTERY_ENGINE=host.")
    _register_context()
    _install_buildx(host, ref, say)
    seed_images(say, seed)
    return status()


def stop(say: Say = print) -> EngineStatus:
    container = _container(_host_client())
    if container is not None and container.status == "running":
        say("stopping the course engine (its images and volumes stay)")
        container.stop(timeout=30)
    return status()


def reset(say: Say = print, seed: Iterable[str] = ()) -> EngineStatus:
    """Throw the engine's state away (every image, container, volume and build cache in it) and start clean;
    the course's base images come back from the host's engine."""
    host = _host_client()
    container = _container(host)
    if container is not None:
        say("removing the course engine and everything in it")
        container.remove(force=True)
    with contextlib.suppress(docker.errors.NotFound):
        host.volumes.get(places.volume()).remove(force=True)
    places.socket_path().unlink(missing_ok=True)
    return start(say, seed)


def image(say: Say = print) -> str:
    """The course engine's image on the host's engine, made if missing; returns its ref."""
    return _image(_host_client(), say)


def _image(host: DockerClient, say: Say) -> str:
    ref = recipe.image_ref()
    try:
        host.images.get(ref)
    except docker.errors.ImageNotFound:
        say(f"making the course engine's image {ref} (Debian {recipe.SUITE}'s Docker Engine)")
        recipe.build(host_address().env(), say)
    return ref


def _create(host: DockerClient, ref: str) -> Container:
    """The engine's container: no --privileged (refused on some hosts, and more than it needs), every
    capability but SYS_RESOURCE, and /proc/sys writable (systempaths=unconfined), without which every container
    start in the engine fails with "failed to disable IPv6 on container's interface". Made with the docker
    command, which turns systempaths=unconfined into the API's empty masked and read-only path lists."""
    shared = places.shared_dir()
    for folder in (places.socket_dir(), shared):
        folder.mkdir(parents=True, exist_ok=True)
    workspaces = [arg for folder in _workspaces() for arg in ("-v", f"{folder}:{folder}")]
    places.socket_dir().chmod(0o700)  # the socket is the engine: only this user reaches it
    created = _docker(
        "create", "--name", places.name(), "--hostname", places.name(), "--label", f"{places.ROLE_LABEL}=engine",
        "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined",
        "--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined", "--tmpfs", "/run",
        "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "-v", f"{places.volume()}:/var/lib/docker",
        "-v", f"{places.socket_dir()}:{Path(places.SOCKET_IN_ENGINE).parent}", "-v", f"{shared}:{shared}", *workspaces,
        "--label", f"{SETTINGS_LABEL}={_settings_text()}",
        "-e", f"MASTERY_GID={os.getgid()}", "-e", f"MASTERY_SHARED={shared}", "-e", f"MASTERY_MTU={engine_mtu()}",
        "-e", f"MASTERY_BUILD_MEMORY={build_pen().memory_bytes}", "-e", f"MASTERY_BUILD_PIDS={build_pen().pids}",
        "--pids-limit", str(ENGINE_PIDS), "--memory", str(engine_memory()), "--memory-swap", str(engine_memory()),
        "--restart", "unless-stopped",  # the host's engine starts it again after a reboot
        ref, env=host_address().env())
    if created.returncode != 0:
        raise GraderError(f"The course engine's container could not be made: {created.stderr.strip()[-400:]}",
                          "Grade on your own engine instead (MASTERY_ENGINE=host), and tell us what your engine said.")
    return host.containers.get(created.stdout.strip())


SETTINGS_LABEL = "io.mastery.course-engine.settings"  # what the container was made with; a change replaces it
ENGINE_PIDS = 32768  # processes for everything in the engine: ample for a class's stacks, a wall for a fork bomb
BUILD_PIDS = 2048  # processes for every build step in the engine together: a class's builds use tens each
GiB = 2**30


@dataclass(frozen=True)
class BuildPen:
    """Limits for all the build steps in the engine together (entrypoint.sh): BuildKit takes none per build."""

    memory_bytes: int
    pids: int


def build_pen(environ: dict[str, str] | None = None) -> BuildPen:
    """MASTERY_ENGINE_BUILD_MEMORY and MASTERY_ENGINE_BUILD_PIDS, else a quarter of the engine's memory (at least
    4 GiB, at most half) and BUILD_PIDS: room for several builds at once, never the whole engine."""
    environ = dict(os.environ) if environ is None else environ
    share = engine_memory()
    memory = environ.get("MASTERY_ENGINE_BUILD_MEMORY") or min(share // 2, max(4 * GiB, share // 4))
    return BuildPen(int(memory), int(environ.get("MASTERY_ENGINE_BUILD_PIDS") or BUILD_PIDS))


def engine_memory() -> int:
    """Three quarters of the host's memory for everything in the engine together, so that a runaway build or
    container (whatever limits it escaped) leaves the host room to breathe."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 * 2**30
    return total * 3 // 4


ENGINE_MTU_CEILING = 1400  # under the MTU of common VPNs and cloud overlays (1420-1460); costs a few % of throughput


def engine_mtu(environ: dict[str, str] | None = None) -> int:
    """The MTU the engine gives itself: MASTERY_ENGINE_MTU, else the smallest of this machine's default routes'
    interfaces and a ceiling. Measured: in a container on a host whose link has MTU 1400, every TLS handshake
    from the engine to PyPI was reset until the engine's own MTU was 1400."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("MASTERY_ENGINE_MTU"):
        return int(environ["MASTERY_ENGINE_MTU"])
    return min([ENGINE_MTU_CEILING, *_default_route_mtus()])


def _default_route_mtus() -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 1 and fields[1] == "00000000":
                with contextlib.suppress(OSError, ValueError):
                    found.append(int(Path(f"/sys/class/net/{fields[0]}/mtu").read_text()))
    return found


def _workspaces() -> list[Path]:
    """Host folders the learner works in, shared at the same path so that `docker run -v "$PWD":/app` in the
    course's terminal mounts the learner's files, not an empty folder of the engine's: the labs' folder of
    this checkout, and the folders in MASTERY_ENGINE_SHARES (separated by ':')."""
    from graders.spec import REPO_ROOT

    found = [REPO_ROOT / "labs"] + [Path(p) for p in os.environ.get("MASTERY_ENGINE_SHARES", "").split(":") if p]
    return [folder.resolve() for folder in found if folder.is_dir()]


def _settings_text() -> str:
    """The settings a container is made with, as its label records them: shared folders, MTU, build limits."""
    shares = ":".join(str(folder) for folder in [places.shared_dir(), *_workspaces()])
    pen = build_pen()
    return f"shares={shares};mtu={engine_mtu()};build-memory={pen.memory_bytes};build-pids={pen.pids}"


def _answers_within(container: Container, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _engine_client(timeout=5) is not None:
            return True
        container.reload()
        if container.status not in ("running", "created", "restarting"):
            return False
        time.sleep(0.3)
    return False


def _docker(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          env={**host_env(), **(env or {})})


def host_env() -> dict[str, str]:
    """The environment of a docker command on the host's engine: the same engine as _host_client's."""
    cleared = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    return {**cleared, **host_address().env()}


def _register_context() -> None:
    """`docker --context mastery …` and `docker context use mastery` reach the course engine."""
    endpoint = f"host={places.url()}"
    if _docker("context", "inspect", places.context()).returncode == 0:
        done = _docker("context", "update", places.context(), "--docker", endpoint)
    else:
        done = _docker("context", "create", places.context(), "--description", "Docker Mastery's course engine",
                       "--docker", endpoint)
    if done.returncode != 0:
        raise GraderError(f"Could not register the Docker context `{places.context()}`: {done.stderr.strip()}",
                          "Check that ~/.docker is writable, then run `mastery engine start` again.")


def _install_buildx(host: DockerClient, ref: str, say: Say) -> None:
    """Give the host's CLI the engine's buildx plugin when it has none (or has ours from an older image)."""
    plugins = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "cli-plugins"
    target, mark = plugins / "docker-buildx", plugins / f"docker-buildx{PLUGIN_MARK}"
    if target.exists() and (not mark.exists() or mark.read_text() == ref):
        return
    if not target.exists() and _docker("buildx", "version").returncode == 0:
        return  # a buildx of the system's (Docker's own packages, Docker Desktop)
    say(f"installing the buildx plugin into {plugins}")
    recipe.copy_buildx(ref, host_address().env(), target)
    target.chmod(0o755)
    mark.write_text(ref)


def seed_images(say: Say, refs: Iterable[str]) -> list[str]:
    """Copy base images from the host's engine where the course engine lacks them, or holds a stand-in an
    older recipe made while the host's is current; returns the refs copied. An image the course engine made
    or pulled itself is never replaced by the host's."""
    from graders import engine, images

    host, course = host_address(), resolve(COURSE)
    if _engine_client() is None:
        raise EngineUnavailable("The course engine does not answer.", "mastery engine start")
    wanted = []
    for ref in refs:
        with engine.using(host):
            there = images.status(ref)
        if not there.present or there.stale:
            continue
        with engine.using(course):
            here = images.status(ref)
        if not here.present or here.stale:
            wanted.append(ref)
    if not wanted:
        return []
    say(f"copying {len(wanted)} base image(s) into the course engine: {', '.join(wanted)}")
    save = subprocess.Popen(["docker", "save", *wanted], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**host_env(), **host.env()})
    load = subprocess.run(["docker", "load", "-q"], stdin=save.stdout, capture_output=True, text=True, timeout=1800,
                          env={**host_env(), **course.env()})
    save.wait(timeout=60)
    if save.returncode != 0 or load.returncode != 0:
        why = (save.stderr.read().decode(errors="replace") if save.stderr else "") + load.stderr
        raise GraderError(f"Copying the base images into the course engine failed: {why.strip()[-400:]}",
                          "Run `mastery --engine course images prepare` (it makes them in the course engine itself).")
    return wanted


def plugin_version(plugin: str) -> str:
    """`docker buildx version` / `docker compose version` as the course engine's context sees them."""
    done = _docker(plugin, "version", env={"DOCKER_HOST": places.url()}, timeout=20)
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else ""

"""Engine-state checks about a local image registry: the registry container and its volume, what its API says
(catalog, tags, the manifest digest of a tag), a compose file or run script that pins the image by that digest,
and a `docker save` archive of the image.

They only read: the engine's inspection of the registry container, HTTP GETs to the registry's API at the port
the container publishes (reached where the engine's published ports are, `engine.site().published_host`), and the
learner's files. Nothing is pushed, deleted or changed."""

from __future__ import annotations

import json
import re
import tarfile
import threading
import urllib.error
import urllib.request
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from graders import engine
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.learner_objects import LearnerObjects, container_attrs
from graders.results import Category

NEEDS = (Need.ENGINE_STATE,)
FILE_NEEDS = (Need.FILES, Need.ENGINE_STATE)
API_PORT = "5000/tcp"  # where the registry listens inside its container
STORAGE = "/var/lib/registry"  # where it keeps the blobs
TIMEOUT_S = 3.0
MAX_BYTES = 1024 * 1024  # a manifest, a catalog or a compose file: small
# Every manifest type a pull accepts: the digest the registry then names is the one `docker pull` resolves to.
ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"))
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
ANONYMOUS = re.compile(r"[0-9a-f]{64}")  # the name the engine gives a VOLUME no one named


@dataclass(frozen=True)
class Registry:
    """The registry the task asks for, as the task words it."""

    container: str
    image: str
    label: str  # key=value
    volume: str  # the named volume the task mounts at STORAGE
    command: str  # what runs it: quoted when it is missing or must be made again


class Unreachable(Exception):
    """The registry's API did not answer as a registry does: the message says what was tried and seen."""


@dataclass(frozen=True)
class Manifest:
    digest: str  # what the registry names in Docker-Content-Digest
    configs: frozenset[str]  # the image config digest(s): one per platform for an index


# --- the read-only look at the registry ------------------------------------------------------------------------------

_seen: weakref.WeakKeyDictionary[LearnerObjects, dict[str, Any]] = weakref.WeakKeyDictionary()
_seen_lock = threading.Lock()


def _view(ctx: GradingContext) -> LearnerObjects:
    assert ctx.learner is not None, "engine-state checks run only once the kind opened its view"
    return ctx.learner


def _get(url: str, accept: str = "application/json") -> tuple[bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            return answer.read(MAX_BYTES), {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as exc:
        raise Unreachable(f"`GET {url}` answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"`GET {url}` got no answer ({reason})") from exc


def published_port(attrs: dict[str, Any]) -> tuple[str, str] | None:
    """(host address, host port) where the container publishes the registry's port 5000, or None."""
    bindings = ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(API_PORT) or []
    for binding in bindings:
        if binding.get("HostPort"):
            return str(binding.get("HostIp") or ""), str(binding["HostPort"])
    return None


def api_base(registry: Registry) -> str | Outcome:
    """The registry API's base URL as the grader reaches it, or what to tell when it cannot."""
    attrs = container_attrs(registry.container)
    if attrs is None:
        return Outcome.failed(f"No container named `{registry.container}` in the Docker Engine at "
                              f"{engine.address().url}.", f"Run the registry: `{registry.command}`.")
    if (attrs.get("State") or {}).get("Status") != "running":
        return Outcome.failed(f"The registry `{registry.container}` is not running.",
                              f"Start it (`docker start {registry.container}`); its images are in its volume.")
    port = published_port(attrs)
    if port is None:
        return Outcome.failed(f"`{registry.container}` publishes no port for the registry's {API_PORT}: nothing "
                              "outside its container can push to it or read it.",
                              f"Remove it (`docker rm -f {registry.container}`; the volume keeps the images) and run "
                              f"it with `-p 5000:5000`: `{registry.command}`.")
    host_ip, host_port = port
    site = engine.site()
    if host_ip in ("127.0.0.1", "::1") and site.published_host not in ("127.0.0.1", "localhost", "::1"):
        return Outcome.failed(f"`{registry.container}` publishes its API on {host_ip}:{host_port} only, the "
                              "loopback address of the engine's own machine, which the grader cannot reach from here.",
                              f"Publish it on every address of the engine: `docker rm -f {registry.container}`, "
                              f"then `{registry.command}`.")
    return f"http://{site.published_host}:{host_port}/v2"


def manifest(base: str, repository: str, reference: str) -> Manifest | None:
    """The manifest digest of a tag (None when the tag is not there) and the config digests it leads to."""
    try:
        body, headers = _get(f"{base}/{repository}/manifests/{reference}", ACCEPT)
    except Unreachable as exc:
        if re.search(r"answered 404", str(exc)):
            return None
        raise
    digest = headers.get("docker-content-digest", "")
    data = json.loads(body)
    configs: set[str] = set()
    if headers.get("content-type", data.get("mediaType", "")).split(";")[0] in INDEX_TYPES:
        for child in (data.get("manifests") or [])[:8]:
            if DIGEST.fullmatch(str(child.get("digest", ""))):
                child_body, _ = _get(f"{base}/{repository}/manifests/{child['digest']}", ACCEPT)
                config = str((json.loads(child_body).get("config") or {}).get("digest", ""))
                if config:
                    configs.add(config)
    elif (config := str((data.get("config") or {}).get("digest", ""))):
        configs.add(config)
    return Manifest(digest, frozenset(configs))


def tags(base: str, repository: str) -> list[str] | None:
    """The repository's tags, or None when the registry has no such repository."""
    try:
        body, _ = _get(f"{base}/{repository}/tags/list")
    except Unreachable as exc:
        if re.search(r"answered 404", str(exc)):
            return None
        raise
    return [str(t) for t in json.loads(body).get("tags") or []]


def _cached(ctx: GradingContext, key: str, read: Any) -> Any:
    """One read of the registry per grading run and question (the checks run side by side)."""
    view = _view(ctx)
    with _seen_lock:
        seen = _seen.setdefault(view, {})
        if key in seen:
            return seen[key]
    try:
        value = read()
    except (Unreachable, ValueError) as exc:
        value = Unreachable(str(exc))
    with _seen_lock:
        return seen.setdefault(key, value)


def _pushed(ctx: GradingContext, registry: Registry, repository: str, tag: str) -> tuple[str, Manifest] | Outcome:
    """The API base and the manifest of repository:tag, or what to tell."""
    base = api_base(registry)
    if isinstance(base, Outcome):
        return base
    found = _cached(ctx, f"manifest {repository}:{tag}", lambda: manifest(base, repository, tag))
    if isinstance(found, Unreachable):
        return Outcome.failed(f"The registry did not answer as a registry does: {found}.",
                              f"Look at its logs (`docker logs {registry.container}`); `curl {base}/` answers `{{}}` "
                              "when it serves the API.")
    if found is None:
        return Outcome.failed(f"The registry has no `{repository}:{tag}` (`GET {base}/{repository}/manifests/{tag}` "
                              "answered 404).", f"Tag and push it: `docker tag … localhost:5000/{repository}:{tag}`, "
                                                f"then `docker push localhost:5000/{repository}:{tag}`.")
    return base, found


def _safe_text(folder: Path, name: str, limit: int = MAX_BYTES) -> str | None:
    try:
        resolved = (folder / name).resolve()
        if not resolved.is_file() or not resolved.is_relative_to(folder.resolve()):
            return None
        with resolved.open("rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


# --- the checks ------------------------------------------------------------------------------------------------------


def registry_running(points: float, registry: Registry, name: str = "registry_running") -> Check:
    """The registry container runs from the registry image with the label, its storage on the named volume."""
    key, _, value = registry.label.partition("=")

    def run(ctx: GradingContext) -> Outcome:
        attrs = container_attrs(registry.container)
        if attrs is None:
            return Outcome.failed(f"No container named `{registry.container}` in the Docker Engine at "
                                  f"{engine.address().url}.", f"Run the registry: `{registry.command}`.")
        config = attrs.get("Config") or {}
        wrong = []
        expected = _view(ctx).image_id(registry.image)
        if (attrs.get("Image") != expected) if expected else config.get("Image") != registry.image:
            wrong.append(f"it runs the image `{config.get('Image')}`, not `{registry.image}`")
        if (config.get("Labels") or {}).get(key) != value:
            wrong.append(f"it has no label `{registry.label}`")
        storage = [m for m in attrs.get("Mounts") or [] if m.get("Destination") == STORAGE]
        if not storage or storage[0].get("Type") != "volume" or ANONYMOUS.fullmatch(str(storage[0].get("Name", ""))):
            wrong.append(f"its `{STORAGE}` is an anonymous volume, not the named volume `{registry.volume}`: the "
                         "images would be lost with the container" if storage and storage[0].get("Type") == "volume"
                         else f"its `{STORAGE}` is not on the named volume `{registry.volume}`")
        if wrong:
            return Outcome.failed(f"`{registry.container}` exists, but " + "; ".join(wrong) + ".",
                                  f"A container's image, labels and volumes are fixed when it is made: "
                                  f"`docker rm -f {registry.container}`, then `{registry.command}`.")
        state = attrs.get("State") or {}
        if state.get("Status") != "running":
            return Outcome.failed(f"`{registry.container}` is {state.get('Status', 'stopped')} (exit code "
                                  f"{state.get('ExitCode')}).", f"Read why with `docker logs {registry.container}`, then "
                                                                f"`docker start {registry.container}`.")
        port = published_port(attrs)
        where = f", API published on port {port[1]}" if port else ""
        return Outcome.passed(f"`{registry.container}` runs `{registry.image}`, labelled `{registry.label}`, storing "
                              f"images on the volume `{storage[0].get('Name')}`{where}.")

    return Check(name, f"{registry.container} runs {registry.image} on a named volume", points, Category.STATE, NEEDS,
                 run, tags=("container", "volume", "registry"))


def pushed(points: float, registry: Registry, repository: str, tag: str, name: str = "pushed") -> Check:
    """The registry's catalog lists the repository and it holds the version tag."""

    def run(ctx: GradingContext) -> Outcome:
        base = api_base(registry)
        if isinstance(base, Outcome):
            return base
        catalog = _cached(ctx, "catalog", lambda: _get(f"{base}/_catalog")[0])
        if isinstance(catalog, Unreachable):
            return Outcome.failed(f"The registry did not answer as a registry does: {catalog}.",
                                  f"Look at its logs: `docker logs {registry.container}`.")
        try:
            repositories = [str(r) for r in json.loads(catalog).get("repositories") or []]
        except ValueError:
            return Outcome.failed(f"`GET {base}/_catalog` did not answer JSON.",
                                  f"Is `{registry.container}` the registry? `docker logs {registry.container}`.")
        if repository not in repositories:
            listed = ", ".join(f"`{r}`" for r in repositories[:8]) or "no repository"
            return Outcome.failed(f"The registry's catalog lists {listed}, not `{repository}`.",
                                  f"Tag your image for the registry and push it: `docker tag … "
                                  f"localhost:5000/{repository}:{tag}`, `docker push localhost:5000/{repository}:{tag}`.")
        found = _cached(ctx, f"tags {repository}", lambda: tags(base, repository))
        if isinstance(found, Unreachable) or not found or tag not in found:
            shown = ", ".join(f"`{t}`" for t in found[:8]) if isinstance(found, list) and found else "no tag"
            return Outcome.failed(f"`{repository}` in the registry has {shown}, not `{tag}`.",
                                  f"Push the version tag: `docker push localhost:5000/{repository}:{tag}`.")
        return Outcome.passed(f"The registry's catalog lists `{repository}`, with the tags "
                              + ", ".join(f"`{t}`" for t in found[:8]) + ".")

    return Check(name, f"{repository}:{tag} pushed to the registry", points, Category.STATE, NEEDS, run,
                 tags=("registry", "tags"))


def commit_tag(points: float, registry: Registry, repository: str, tag: str, commit_file: str,
               name: str = "commit_tag") -> Check:
    """The repository holds a tag equal to the commit in `commit_file`, on the same manifest as `tag`."""

    def run(ctx: GradingContext) -> Outcome:
        text = _safe_text(ctx.submission, commit_file, 4096)
        commit = (text or "").strip()
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            return Outcome.failed(f"`{commit_file}` in your folder does not hold a 40-character commit SHA.",
                                  "Take the lab's starter file back: it names the commit this image was built from.")
        version = _pushed(ctx, registry, repository, tag)
        if isinstance(version, Outcome):
            return version
        base, wanted = version
        by_commit = _pushed(ctx, registry, repository, commit)
        if isinstance(by_commit, Outcome):
            listed = _cached(ctx, f"tags {repository}", lambda: tags(base, repository))
            others = [t for t in listed if t != tag] if isinstance(listed, list) else []
            seen = f" It has {', '.join(f'`{t}`' for t in others[:5])}." if others else ""
            return Outcome.failed(f"The registry has no tag `{commit}` (the commit in `{commit_file}`) for "
                                  f"`{repository}`.{seen}",
                                  f"Tag the same image with the commit and push it: `docker tag "
                                  f"localhost:5000/{repository}:{tag} localhost:5000/{repository}:$(cat {commit_file})`, "
                                  f"then `docker push localhost:5000/{repository}:$(cat {commit_file})`.")
        _, got = by_commit
        if got.digest != wanted.digest:
            return Outcome.failed(f"`{repository}:{commit[:12]}…` is the manifest `{got.digest[:19]}…`, `{tag}` is "
                                  f"`{wanted.digest[:19]}…`: the two tags name different images.",
                                  "Both tags must name the one image built from that commit: tag the version's image "
                                  f"(`docker tag localhost:5000/{repository}:{tag} localhost:5000/{repository}:"
                                  f"$(cat {commit_file})`) and push it again.")
        return Outcome.passed(f"`{repository}:{tag}` and `{repository}:{commit}` name the same manifest, "
                              f"`{wanted.digest}`.")

    return Check(name, f"{repository} tagged with the commit SHA too", points, Category.STATE, FILE_NEEDS, run,
                 tags=("registry", "tags"))


def _references(folder: Path, files: tuple[str, ...], repository: str) -> dict[str, list[str]]:
    """The image references naming `repository` in the compose file (its services' `image:`) or the run script
    (its lines that are not comments), by file."""
    found: dict[str, list[str]] = {}
    pattern = re.compile(rf"[\w.:/-]*(?<![\w.-]){re.escape(repository)}(?:[:@][\w.:-]+)?")
    for name in files:
        text = _safe_text(folder, name)
        if text is None:
            continue
        refs: list[str] = []
        if name.endswith((".yaml", ".yml")):
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                data = None
            services = data.get("services") if isinstance(data, dict) else None
            for service in (services or {}).values() if isinstance(services, dict) else ():
                image = service.get("image") if isinstance(service, dict) else None
                if isinstance(image, str) and pattern.fullmatch(image.strip()):
                    refs.append(image.strip())
        else:
            for line in text.splitlines():
                if not line.lstrip().startswith("#"):
                    refs += [m.group(0) for m in pattern.finditer(line)]
        found[name] = refs
    return found


def pinned_by_digest(points: float, registry: Registry, repository: str, tag: str, files: tuple[str, ...],
                     name: str = "pinned_by_digest") -> Check:
    """The compose file (or the run script) refers to the image as `…/repository@sha256:<digest>`, the digest the
    registry names for `tag`: a tag can move, a digest names one image for ever."""

    def run(ctx: GradingContext) -> Outcome:
        refs = _references(ctx.submission, files, repository)
        if not refs:
            return Outcome.failed(f"Neither {' nor '.join(f'`{f}`' for f in files)} is in your folder.",
                                  f"Write `{files[0]}` with a service whose `image:` is "
                                  f"`localhost:5000/{repository}@sha256:<digest>`.")
        version = _pushed(ctx, registry, repository, tag)
        if isinstance(version, Outcome):
            return version
        _, wanted = version
        every = [(file, ref) for file, found in refs.items() for ref in found]
        for file, ref in every:
            if ref.endswith(f"/{repository}@{wanted.digest}") or ref == f"{repository}@{wanted.digest}":
                return Outcome.passed(f"`{file}` runs `{ref}`: the digest the registry names for `{repository}:{tag}`.")
        hint = (f"Find the digest with `docker image inspect --format '{{{{index .RepoDigests 0}}}}' "
                f"localhost:5000/{repository}:{tag}` (or in `docker push`'s last line), pull it "
                f"(`docker pull localhost:5000/{repository}@sha256:…`) and write that reference.")
        if not every:
            return Outcome.failed(f"{', '.join(f'`{f}`' for f in refs)} name(s) no image of `{repository}`.", hint)
        file, ref = every[0]
        if "@" not in ref:
            return Outcome.failed(f"`{file}` runs `{ref}`, by tag: the tag can be pushed again and name another "
                                  f"image. The registry names `{repository}:{tag}` as `{wanted.digest}`.", hint)
        used = ref.partition("@")[2]
        also = (" That is the image's id (its config digest), not the digest of its manifest in the registry."
                if f"sha256:{used.removeprefix('sha256:')}" in wanted.configs else "")
        return Outcome.failed(f"`{file}` runs `{ref}`, but the registry names `{repository}:{tag}` as "
                              f"`{wanted.digest}`.{also}", hint)

    return Check(name, f"Compose file pins {repository} by its registry digest", points, Category.STATE, FILE_NEEDS,
                 run, tags=("registry", "digest", "files"))


def _saved(path: Path) -> list[dict[str, Any]]:
    """The manifest.json of a `docker save` archive (every engine writes one), read without extracting layers."""
    with tarfile.open(path, mode="r:*") as archive:
        member = archive.getmember("manifest.json")
        handle = archive.extractfile(member)
        if handle is None or member.size > MAX_BYTES:
            raise ValueError("manifest.json is not a small file")
        data = json.loads(handle.read())
    if not isinstance(data, list):
        raise ValueError("manifest.json is not a list")
    return [entry for entry in data if isinstance(entry, dict)]


def saved_archive(points: float, registry: Registry, repository: str, tag: str, archive: str, command: str,
                  name: str = "saved_archive") -> Check:
    """`archive` is a `docker save` of the pushed image: its manifest.json names a tag of the repository and the
    image config the registry holds for `tag`, so `docker load` on an offline machine gives the same image."""

    def run(ctx: GradingContext) -> Outcome:
        folder = ctx.submission
        try:
            path = (folder / archive).resolve()
            ok = path.is_file() and path.is_relative_to(folder.resolve()) and path.stat().st_size > 0
        except OSError:
            ok = False
        if not ok:
            return Outcome.failed(f"`{archive}` is missing or empty in your folder.", f"Save the image: `{command}`.")
        try:
            entries = _saved(path)
        except (tarfile.TarError, KeyError, ValueError, OSError, EOFError) as exc:
            return Outcome.failed(f"`{archive}` is not an archive `docker save` writes (no readable manifest.json: "
                                  f"{type(exc).__name__}).", f"Make it again: `{command}`.")
        version = _pushed(ctx, registry, repository, tag)
        if isinstance(version, Outcome):
            return version
        _, wanted = version
        named = [(str(t), str(e.get("Config", ""))) for e in entries for t in e.get("RepoTags") or []
                 if re.search(rf"(?:^|/){re.escape(repository)}:", str(t))]
        if not named:
            held = [str(t) for e in entries for t in e.get("RepoTags") or []]
            return Outcome.failed(f"`{archive}` holds {', '.join(f'`{t}`' for t in held[:5]) or 'untagged images'}, no "
                                  f"tag of `{repository}`: `docker load` would give an image without its name.",
                                  f"Save the image by its name: `{command}`.")
        configs = {c.removeprefix("sha256:") for c in wanted.configs}
        for ref, config in named:
            hexa = re.sub(r"^(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json)?$", r"\1", config)
            if hexa in configs:
                return Outcome.passed(f"`{archive}` holds `{ref}`, the image the registry has as `{repository}:{tag}` "
                                      f"(config `sha256:{hexa[:12]}…`): `docker load -i {archive}` restores it offline.")
        return Outcome.failed(f"`{archive}` holds `{named[0][0]}`, but not the image the registry has as "
                              f"`{repository}:{tag}`: it was saved before the last build, or from another image.",
                              f"Save it again, after the push: `{command}`.")

    return Check(name, f"{archive} is a docker save of the pushed image", points, Category.STATE, FILE_NEEDS, run,
                 tags=("registry", "files"))

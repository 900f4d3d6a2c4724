"""When a build goes through the package cache, and the one cache this process runs for its builds.

A build goes through it only when all of these hold, and otherwise downloads as it always did:
- it is a BuildKit build (BuildKit keeps the proxy arguments out of every cache key and out of the image);
- MASTERY_PACKAGE_CACHE is not `off`, and this process has no proxy of its own (HTTP_PROXY, HTTPS_PROXY);
- the engine runs on this machine (its socket is local), so its builds reach the cache at an address of this
  machine: the gateway of the host engine's default bridge, which every local engine's builds can route to;
- every image its stages start FROM trusts the cache's authority: the course's offline images carry it
  (graders/images.py) with the label CA_LABEL. An official image pulled from a registry does not, and its
  pip would refuse the cache's certificate.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import docker.errors

from graders import engine
from graders.engine_address import HOST, resolve
from graders.package_cache.certs import Authority
from graders.package_cache.proxy import PackageCache

log = logging.getLogger("graders")
CA_LABEL = "io.mastery.package-cache-ca"  # on an image that trusts the cache: the authority's fingerprint
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
_lock = threading.Lock()
_cache: PackageCache | None = None
_failed = False


def folder() -> Path:
    """Where the cache keeps what it fetched and its authority: MASTERY_PACKAGE_CACHE_DIR, else ~/.cache/mastery/
    packages. It outlives every run: that is its point."""
    chosen = os.environ.get("MASTERY_PACKAGE_CACHE_DIR")
    return Path(chosen) if chosen else Path.home() / ".cache" / "mastery" / "packages"


def authority() -> Authority:
    return Authority(folder() / "authority")


def fingerprint(cert_path: Path) -> str:
    return hashlib.sha256(cert_path.read_bytes()).hexdigest()[:16]


def wanted() -> bool:
    return os.environ.get("MASTERY_PACKAGE_CACHE", "on") != "off" and not any(os.environ.get(v) for v in PROXY_VARIABLES)


def build_args(bases: Iterable[str]) -> list[str]:
    """The `--build-arg` flags that send a BuildKit build FROM `bases` through the cache; none where it may not
    go (see the module's docstring)."""
    bases = [base for base in bases if base != "scratch"]
    if not bases or not wanted() or not engine.address().url.startswith("unix://"):
        return []
    cache = running()
    if cache is None:
        return []
    if len(trusting(bases, cache.authority.cert_path)) != len(bases):
        return []
    host, port = cache.address
    url = f"http://{host}:{port}"
    return [arg for name in PROXY_VARIABLES for arg in ("--build-arg", f"{name}={url}")] + [
        "--build-arg", "NO_PROXY=localhost,127.0.0.1", "--build-arg", "no_proxy=localhost,127.0.0.1"]


def trusting(refs: Iterable[str], cert: Path | None = None) -> list[str]:
    """Those of `refs` on the engine that trust this machine's cache authority (by their label); `cert`: the
    authority's certificate where the caller holds it already (a running cache), so it is not opened again."""
    expected = fingerprint(cert or authority().cert_path)
    client = engine.client()
    found = []
    for ref in refs:
        try:
            labels = client.images.get(ref).labels or {}
        except (docker.errors.ImageNotFound, docker.errors.APIError):
            continue
        if labels.get(CA_LABEL) == expected:
            found.append(ref)
    return found


def running() -> PackageCache | None:
    """This process's cache, started on first use on the host engine's bridge gateway; None where it cannot
    listen there (no such bridge, an engine in a VM), after which this process does not try again."""
    global _cache, _failed
    with _lock:
        if _cache is None and not _failed:
            try:
                _cache = PackageCache(folder(), listen=(host_gateway(), 0)).start()
            except (OSError, docker.errors.DockerException, LookupError) as exc:
                log.debug("no package cache: %s", exc)
                _failed = True
        return _cache


def stats() -> dict[str, int] | None:
    """What this process's cache did so far; None when it did not run."""
    return _cache.stats.as_dict() if _cache is not None else None


def host_gateway() -> str:
    """The host engine's default bridge gateway: an address of this machine that containers reach."""
    client = docker.from_env(timeout=30, environment=resolve(HOST).env())
    try:
        configs = client.networks.get("bridge").attrs.get("IPAM", {}).get("Config") or []
    finally:
        client.close()
    for config in configs:
        if ":" in (config.get("Subnet") or ":"):
            continue
        # Engine 20.10 names no gateway for its default bridge; it is the subnet's first address. Binding there
        # fails where that is not an address of this machine (an engine in a VM), and then no cache runs.
        return str(config.get("Gateway") or next(ipaddress.ip_network(config["Subnet"], strict=False).hosts()))
    raise LookupError("the host engine's bridge has no IPv4 subnet")

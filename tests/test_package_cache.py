"""The package cache (graders/package_cache): real pip downloads through it from PyPI, twice, and the second time
nothing comes from upstream; hosts it does not cache are tunnelled untouched; index pages expire.

These reach PyPI and the npm registry, as the lab proofs do. pip runs with this machine's CA bundle plus the cache's
authority, as a build on the course's offline images will.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from graders.package_cache.proxy import PackageCache, lifetime_s

HOST_BUNDLE = Path(os.environ.get("MASTERY_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[PackageCache]:
    proxy = PackageCache(tmp_path / "cache").start()
    try:
        yield proxy
    finally:
        proxy.stop()


def _bundle(cache: PackageCache, folder: Path) -> Path:
    bundle = folder / "bundle.pem"
    bundle.write_bytes(HOST_BUNDLE.read_bytes() + b"\n" + cache.authority.cert_path.read_bytes())
    return bundle


def _pip_download(cache: PackageCache, bundle: Path, into: Path) -> None:
    host, port = cache.address
    # requests prefers REQUESTS_CA_BUNDLE over the session's --cert: a build's image sets both to one file.
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--isolated", "--no-deps", "--no-cache-dir",
                           "--disable-pip-version-check", "--proxy", f"http://{host}:{port}", "--cert", str(bundle),
                           "-d", str(into), "six==1.16.0"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]


def test_the_second_download_of_the_same_package_comes_from_the_cache(cache: PackageCache, tmp_path: Path) -> None:
    bundle = _bundle(cache, tmp_path)
    _pip_download(cache, bundle, tmp_path / "first")
    first = cache.stats.as_dict()
    assert first["misses"] >= 2 and first["hits"] == 0 and first["upstream_bytes"] > 10_000, first
    _pip_download(cache, bundle, tmp_path / "second")
    second = cache.stats.as_dict()
    assert second["upstream_bytes"] == first["upstream_bytes"] and second["misses"] == first["misses"], second
    assert second["hits"] == first["misses"], second
    wheel = "six-1.16.0-py2.py3-none-any.whl"
    assert (tmp_path / "first" / wheel).read_bytes() == (tmp_path / "second" / wheel).read_bytes()
    # Its stats, for an instructor measuring what it saved, from the proxy itself.
    host, port = cache.address
    with urllib.request.urlopen(f"http://{host}:{port}/_mastery/stats", timeout=10) as answer:
        assert json.load(answer) == second


def test_a_host_it_does_not_cache_is_tunnelled_with_its_own_certificate(cache: PackageCache) -> None:
    host, port = cache.address
    proxy = f"http://{host}:{port}"
    answer = requests.get("https://registry.npmjs.org/is-number", proxies={"https": proxy}, verify=str(HOST_BUNDLE),
                          timeout=60)
    assert answer.status_code == 200 and answer.json()["name"] == "is-number"
    assert cache.stats.as_dict()["tunnels"] == 1 and cache.stats.as_dict()["misses"] == 0


def test_index_pages_expire_and_packages_do_not(tmp_path: Path) -> None:
    assert lifetime_s("https://files.pythonhosted.org/packages/d9/5a/six-1.16.0-py2.py3-none-any.whl", 600) == float("inf")
    assert lifetime_s("http://deb.debian.org/debian/pool/main/c/curl/curl_8.14.1-2_amd64.deb", 600) == float("inf")
    assert lifetime_s("https://pypi.org/simple/six/", 600) == 600
    assert lifetime_s("http://deb.debian.org/debian/dists/trixie/InRelease", 600) == 600
    assert lifetime_s("https://pypi.org/project/six/", 600) is None
    proxy = PackageCache(tmp_path / "cache", index_ttl_s=0).start()
    try:
        bundle = _bundle(proxy, tmp_path)
        host, port = proxy.address
        for _ in range(2):
            answer = requests.get("https://pypi.org/simple/six/", proxies={"https": f"http://{host}:{port}"},
                                  verify=str(bundle), timeout=60)
            assert answer.status_code == 200 and "six-1.16.0" in answer.text
        assert proxy.stats.as_dict()["misses"] == 2 and proxy.stats.as_dict()["hits"] == 0
    finally:
        proxy.stop()


def test_the_authority_s_key_is_readable_by_its_owner_only(cache: PackageCache) -> None:
    assert stat.S_IMODE(cache.authority.key_path.stat().st_mode) == 0o600
    host_cert, host_key = cache.authority.for_host("pypi.org")
    assert stat.S_IMODE(host_key.stat().st_mode) == 0o600
    assert cache.authority.for_host("pypi.org") == (host_cert, host_key)  # made once


# --- learners' builds through it, on the engine ---------------------------------------------------------------


@pytest.mark.engine
def test_a_learner_s_build_goes_through_the_cache_and_the_image_keeps_no_trace(tmp_path: Path) -> None:
    """Two learners' builds that install the same package: the second takes it from the cache. Their images
    record no proxy (BuildKit keeps the predefined proxy arguments out of the history and the config)."""
    import uuid

    from graders import engine
    from graders.build import build_client, build_image
    from graders.package_cache import service

    if build_client(True).builder != "buildkit" or not engine.buildkit_by_default():
        pytest.skip("the cache serves BuildKit builds; this engine builds with the legacy builder")
    tags = []
    try:
        for learner in ("first", "second"):
            folder = tmp_path / learner
            folder.mkdir()
            (folder / "Dockerfile").write_text(
                "FROM python:3.13-slim\n"
                f"RUN pip install --no-cache-dir --disable-pip-version-check six==1.16.0 # {uuid.uuid4().hex}\n")
            before = service.stats() or {"hits": 0, "upstream_bytes": 0}
            tags.append(f"mastery-test/package-cache:{learner}-{uuid.uuid4().hex[:8]}")
            built = build_image(folder, folder / "Dockerfile", tags[-1], {}, timeout_s=300, buildkit=True,
                                full_log=True)
            after = service.stats()
            assert after is not None, "the build did not go through the package cache"
            if learner == "second":
                assert after["hits"] > before["hits"] and after["upstream_bytes"] == before["upstream_bytes"], \
                    (before, after, built.log[-1500:])
            attrs = engine.client().api.inspect_image(built.image_id)
            history = json.dumps(engine.client().api.history(built.image_id))
            assert "PROXY" not in json.dumps(attrs["Config"]["Env"]).upper() and "_PROXY" not in history.upper()
    finally:
        for tag in tags:
            with contextlib.suppress(Exception):
                engine.client().images.remove(tag)


@pytest.mark.engine
def test_a_base_that_does_not_trust_the_cache_is_not_sent_through_it() -> None:
    from graders.package_cache import service

    assert service.build_args(["debian:trixie-slim"]) == []  # no Python, no authority: it downloads directly
    assert service.build_args(["python:3.13-slim", "no-such-image:1"]) == []
    assert service.build_args([]) == []


def test_it_fetches_nothing_from_this_machine_or_the_metadata_address(cache: PackageCache) -> None:
    """A build reaches the cache at an address of this machine; through it, it must not reach what it cannot reach
    itself: this machine's loopback services, its other addresses, or the cloud metadata address."""
    import http.client

    host, port = cache.address
    for method, target in (("CONNECT", "127.0.0.1:22"), ("CONNECT", f"{host}:{port}"), ("CONNECT", "localhost:8888"),
                           ("GET", "http://169.254.169.254/latest/meta-data/"), ("GET", f"http://{host}:{port}/")):
        connection = http.client.HTTPConnection(host, port, timeout=10)
        try:
            connection.request(method, target)
            answer = connection.getresponse()
            assert answer.status == 403, (method, target, answer.status)
            assert b"does not fetch from" in answer.read()
        finally:
            connection.close()
    assert cache.stats.as_dict()["tunnels"] == 0 and cache.stats.as_dict()["misses"] == 0

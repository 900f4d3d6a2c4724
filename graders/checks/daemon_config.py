"""Checks of an engine-configuration lab: the learner's `daemon.json` for a shared workstation, read as dockerd
reads it. The course engine's own dockerd says whether it would start with the file; the other checks judge
what the settings do (logs capped, addresses that do not clash, containers kept through a restart, root remapped,
no privilege gain, the mirror, no open socket). Nothing is installed or restarted."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

import docker.errors
import requests

from graders import daemon_config
from graders.check_model import Check, Need, Outcome, Phase, judge
from graders.context import GradingContext
from graders.labels import run_labels
from graders.results import Category

NEEDS = (Need.DAEMON_CONFIG,)
FILE = "daemon.json"
MiB = 1024 * 1024
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?", re.I)
# Where each driver keeps logs that `docker logs` reads, and its defaults when log-opts say nothing (Docker docs:
# the local driver keeps 5 files of 20 MB; json-file one file, with no size limit).
LOCAL_DEFAULTS = {"local": ("20m", "5"), "json-file": (None, "1")}
# The options each driver takes (Docker docs); dockerd --validate does not look at them, container creation does.
DRIVER_OPTIONS = {"local": {"max-size", "max-file", "compress"},
                  "json-file": {"max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag"}}


def _config(ctx: GradingContext) -> daemon_config.DaemonConfig:
    assert ctx.daemon is not None, "daemon.json checks run only once the file parsed"
    return ctx.daemon


def size_bytes(text: str) -> int | None:
    """A size as dockerd reads `max-size` ("20m", "1g", "512k", "1048576"), in bytes; None when it is not one."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        return None
    return int(float(match[1]) * 1024 ** " kmgtp".index((match[2] or " ").lower()))


def _check(name: str, title: str, points: float, category: Category,
           judge_fn: Callable[[daemon_config.DaemonConfig], Outcome]) -> Check:
    def run(ctx: GradingContext) -> Outcome:
        return judge_fn(_config(ctx))

    return Check(name, title, points, category, NEEDS, run)


def engine_accepts(points: float) -> Check:
    """The course engine's dockerd, started as a systemd host starts it, reads the file without an error."""

    def run(ctx: GradingContext) -> Outcome:
        blocker = ctx.blocker_for(Phase.STATIC)
        if blocker is not None:
            return Outcome.failed(blocker.message, blocker.hint)
        try:
            verdict = daemon_config.engine_verdict(_config(ctx), run_labels(ctx.run_id, ctx.spec.id))
        except (docker.errors.DockerException, requests.RequestException) as exc:
            return Outcome.error(f"The course engine's dockerd could not be asked about your file ({type(exc).__name__}: {exc}).")
        if verdict.accepted:
            return Outcome.passed("`dockerd --validate` of Docker Engine 28 (the course engine), started with `-H fd://` as "
                                  "systemd starts it, says: configuration OK.")
        return Outcome.failed(f"`dockerd --validate` refuses `{FILE}`: {verdict.said}",
                              "An engine given this file would not start. Fix what dockerd names: a key it does not know, a "
                              "value of the wrong type (`true`, not `\"true\"`; sizes as strings), or a setting that is also "
                              "a flag of the service (`hosts`).")

    return Check("engine_accepts", "dockerd accepts the file", points, Category.STATIC, NEEDS, run,
                 reports="parse", skip_unless=daemon_config.validator_missing)


def _log_rotation(config: daemon_config.DaemonConfig, cap_mib: int) -> Outcome:
    driver = config.get("log-driver", "json-file")
    opts = config.get("log-opts", {})
    hint = (f"Use `\"log-driver\": \"local\"` (it rotates by itself: 5 files of 20 MB), or keep `json-file` and set "
            f"`\"log-opts\": {{\"max-size\": \"20m\", \"max-file\": \"5\"}}`: at most {cap_mib} MB per container.")
    if not isinstance(opts, dict):
        return Outcome.failed("`log-opts` is not an object of settings.", hint)
    if driver not in LOCAL_DEFAULTS:
        return Outcome.failed(f"`log-driver` is `{driver}`: this file cannot show that each container's logs stay under "
                              f"{cap_mib} MB on the workstation (the cap would be the log system's own setting).", hint)
    unknown = sorted(set(opts) - DRIVER_OPTIONS[driver])
    if unknown:
        return Outcome.failed(f"`log-opts` has `{unknown[0]}`, which the `{driver}` driver does not take: the engine starts, "
                              f"then refuses every container (`unknown log opt '{unknown[0]}' for log driver {driver}`).",
                              hint)
    default_size, default_files = LOCAL_DEFAULTS[driver]
    size_text, files_text = opts.get("max-size", default_size), opts.get("max-file", default_files)
    if size_text is None:
        return Outcome.failed("Logs use `json-file` (Docker's default) with no `max-size`: each container's log grows "
                              "until the disk is full.", hint)
    if not isinstance(size_text, str) or not isinstance(files_text, str):
        return Outcome.failed("`max-size` and `max-file` are strings in `log-opts` (`\"20m\"`, `\"5\"`), not numbers.", hint)
    size = size_bytes(size_text)
    if size is None or size <= 0 or not files_text.isdigit() or int(files_text) < 1:
        return Outcome.failed(f"`max-size` `{size_text}` or `max-file` `{files_text}` is not a size and a count "
                              "(such as `20m` and `5`).", hint)
    total = size * int(files_text)
    seen = f"`{driver}` keeps {files_text} file(s) of {size_text}: {total / MiB:.0f} MB per container"
    if total > cap_mib * MiB:
        return Outcome.failed(f"{seen}, more than the {cap_mib} MB the workstation allows.", hint)
    return Outcome.passed(f"{seen}, within {cap_mib} MB.")


def log_rotation(points: float, cap_mib: int = 100) -> Check:
    return _check("log_rotation", f"Container logs capped at {cap_mib} MB each", points, Category.STATIC,
                  lambda config: _log_rotation(config, cap_mib))


# Docker's own default pools (Engine 28): 172.17-31.x.x in /16s, then 192.168.x.x in /20s.
CAMPUS = (ipaddress.IPv4Network("172.16.0.0/12"), ipaddress.IPv4Network("192.168.0.0/16"))
ALLOWED = ipaddress.IPv4Network("10.0.0.0/8")


def _address_pools(config: daemon_config.DaemonConfig, networks: int) -> Outcome:
    pools = config.get("default-address-pools")
    hint = (f"Set `\"default-address-pools\": [{{\"base\": \"10.200.0.0/16\", \"size\": 24}}]`: 256 networks of 254 "
            f"addresses, inside {ALLOWED} and clear of the campus' {CAMPUS[0]} and {CAMPUS[1]}.")
    if pools is None:
        return Outcome.failed(f"No `default-address-pools`: Docker takes its networks from {CAMPUS[0]} and {CAMPUS[1]}, "
                              "the campus' own ranges, and machines there become unreachable from containers.", hint)
    if not isinstance(pools, list) or not pools:
        return Outcome.failed("`default-address-pools` is not a list of pools.", hint)
    problems: list[str] = []
    seen: list[ipaddress.IPv4Network] = []
    room = 0
    for pool in pools:
        if not isinstance(pool, dict) or not isinstance(pool.get("base"), str) or not isinstance(pool.get("size"), int):
            problems.append(f"`{pool}` is not `{{\"base\": \"CIDR\", \"size\": N}}`")
            continue
        try:
            base = ipaddress.ip_network(pool["base"])
        except ValueError as exc:
            problems.append(f"base `{pool['base']}` is not a network ({exc})")
            continue
        if not isinstance(base, ipaddress.IPv4Network):
            continue  # an IPv6 pool: allowed, and not counted
        size = pool["size"]
        if not base.prefixlen <= size <= 29:
            problems.append(f"pool `{base}` has size {size}: it must be between /{base.prefixlen} and /29")
            continue
        if not base.subnet_of(ALLOWED):
            clash = [str(c) for c in CAMPUS if base.overlaps(c)]
            problems.append(f"pool `{base}` is outside {ALLOWED}" + (f" and overlaps the campus' {clash[0]}" if clash else ""))
            continue
        if any(base.overlaps(other) for other in seen):
            problems.append(f"pool `{base}` overlaps another pool")
            continue
        seen.append(base)
        room += 2 ** (size - base.prefixlen)
    if not problems and room < networks:
        problems.append(f"the pools hold {room} networks; the team needs room for {networks}")
    return judge(problems, f"Networks come from {', '.join(map(str, seen))}: room for {room}, clear of the campus' "
                 "ranges.", hint, 2)


def address_pools(points: float, networks: int = 100) -> Check:
    return _check("address_pools", "Networks from the team's address range", points, Category.STATIC,
                  lambda config: _address_pools(config, networks))


def _flag(key: str, why: str) -> Callable[[daemon_config.DaemonConfig], Outcome]:
    def judge_flag(config: daemon_config.DaemonConfig) -> Outcome:
        value = config.get(key)
        if value is True:
            return Outcome.passed(f"`\"{key}\": true`: {why}.")
        shown = "not set" if value is None else f"`{json.dumps(value)}`"
        return Outcome.failed(f"`{key}` is {shown}, not `true`.", f"Add `\"{key}\": true` ({why}).")

    return judge_flag


def live_restore(points: float) -> Check:
    return _check("live_restore", "Containers survive an engine restart", points, Category.STATE,
                  _flag("live-restore", "containers keep running while the engine restarts or is upgraded"))


def no_new_privileges(points: float) -> Check:
    return _check("no_new_privileges", "No privilege gain by default", points, Category.SECURITY,
                  _flag("no-new-privileges", "no process in a container can gain privileges through setuid programs"))


def _userns_remap(config: daemon_config.DaemonConfig) -> Outcome:
    value = config.get("userns-remap")
    hint = ("Set `\"userns-remap\": \"default\"`: Docker makes the user `dockremap`, and root in a container becomes an "
            "unprivileged user of the host (its range in /etc/subuid).")
    if value is None:
        return Outcome.failed("No `userns-remap`: root in a container is root on the workstation, for everyone's containers.",
                              hint)
    if not isinstance(value, str) or not value.strip():
        return Outcome.failed(f"`userns-remap` is `{json.dumps(value)}`, not a user name.", hint)
    if value.split(":", 1)[0] in ("root", "0"):
        return Outcome.failed(f"`userns-remap` is `{value}`: remapping root to root changes nothing.", hint)
    return Outcome.passed(f"`\"userns-remap\": \"{value}\"`: root in a container is an unprivileged user of the host.")


def userns_remap(points: float) -> Check:
    return _check("userns_remap", "Root in containers remapped", points, Category.SECURITY, _userns_remap)


def _mirror(config: daemon_config.DaemonConfig, url: str) -> Outcome:
    mirrors = config.get("registry-mirrors", [])
    insecure = config.get("insecure-registries", [])
    hint = f"Add `\"registry-mirrors\": [\"{url}\"]`, and leave it out of `insecure-registries`: it serves TLS."
    if not isinstance(mirrors, list) or not all(isinstance(m, str) for m in mirrors):
        return Outcome.failed("`registry-mirrors` is not a list of URLs.", hint)
    if url.rstrip("/") not in [m.rstrip("/") for m in mirrors]:
        return Outcome.failed(f"`registry-mirrors` is {mirrors or 'not set'}: Docker Hub pulls do not go through {url}.",
                              hint)
    host = url.split("://", 1)[1].rstrip("/")
    if isinstance(insecure, list) and any(isinstance(i, str) and i.split("://")[-1].rstrip("/").startswith(host)
                                          for i in insecure):
        return Outcome.failed(f"`{host}` is also in `insecure-registries`: its certificate would not be checked.", hint)
    return Outcome.passed(f"Docker Hub pulls go through {url}, with its certificate checked.")


def mirror(points: float, url: str) -> Check:
    return _check("mirror", "Docker Hub pulls through the team's mirror", points, Category.STATIC,
                  lambda config: _mirror(config, url))


def _socket_private(config: daemon_config.DaemonConfig) -> Outcome:
    hosts: Any = config.get("hosts", [])
    hint = ("Leave `hosts` out: the service's own `-H fd://` gives the local socket, readable by root and the `docker` "
            "group only. Remote access is `ssh://` in a Docker context, or TCP on 2376 with `tlsverify` and certificates.")
    if not isinstance(hosts, list):
        return Outcome.failed("`hosts` is not a list of addresses.", hint)
    open_tcp = [h for h in hosts if isinstance(h, str) and h.startswith("tcp://")]
    if open_tcp and config.get("tlsverify") is not True:
        return Outcome.failed(f"`hosts` opens {', '.join(open_tcp)} without `tlsverify`: anyone who reaches that port is "
                              "root on the workstation.", hint)
    return Outcome.passed("The engine listens on no TCP port without TLS client certificates.")


def socket_private(points: float) -> Check:
    return _check("socket_private", "No unauthenticated TCP socket", points, Category.SECURITY, _socket_private)

"""What a submitted stack may ask for: an allow-list of the Compose keys and values the course teaches.

A deny-list loses to every key Compose adds (a provider service runs a program on the host, `use_api_socket`
hands over the engine), so the grader names what it admits and refuses the rest before anything starts,
each refusal with the service, the key and why. It judges twice: the file as written, before Compose reads
anything (every file Compose would open must be a small regular file inside the folder, named without
variables), and the model Compose resolved (`docker compose config`), which is what would run.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from graders.compose_model import ComposeModel
from graders.front import FRONT
from graders.netpolicy import INGRESS

MAX_READ_BYTES = 64 * 1024  # env files, secrets and configs: a few lines each
ALLOWED_TOP = {"name", "version", "services", "volumes", "networks", "secrets", "configs"}
# Docker's default capabilities: a learner who drops ALL may add back what a container has anyway.
DEFAULT_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
NO_NEW_PRIVILEGES = re.compile(r"no-new-privileges([:=](true|false))?")
SOCKET_NAMES = ("docker.sock", "containerd.sock", "podman.sock")
LOG_DRIVERS = {"json-file", "local"}  # others send logs somewhere: a port, a file of the host, a daemon
RESTART = re.compile(r"no|always|unless-stopped|on-failure(:\d+)?")
# Keys that need no judging beyond what Compose already validated: they change nothing outside the container.
PLAIN_SERVICE_KEYS = {"command", "entrypoint", "environment", "expose", "user", "working_dir", "read_only", "labels",
                      "stop_signal", "stop_grace_period", "init", "hostname", "domainname", "tty", "stdin_open",
                      "profiles", "container_name", "platform", "image", "healthcheck", "depends_on", "tmpfs",
                      "group_add", "mem_limit", "memswap_limit", "mem_reservation", "cpus", "pids_limit", "shm_size",
                      "scale", "gpus", "attach",
                      # dropping capabilities is always allowed; secrets and configs name the stack's own (judged at
                      # the top level); env files were judged before Compose read them (unsafe_reads)
                      "cap_drop", "secrets", "configs", "env_file"}
WHY_NOT = {
    "privileged": "gives the container the whole host",
    "network_mode": "joins another network namespace (the host's or another container's)",
    "pid": "shares another PID namespace", "ipc": "shares another IPC namespace", "uts": "shares the host's UTS namespace",
    "userns_mode": "leaves the user namespace", "cgroup": "shares the host's cgroup namespace",
    "cgroup_parent": "moves the container out of the engine's cgroups", "devices": "hands host devices over",
    "device_cgroup_rules": "opens host devices", "runtime": "picks another container runtime",
    "volumes_from": "mounts the volumes of another container", "external_links": "links containers outside the stack",
    "extra_hosts": "adds names that lead out of the stack (host-gateway is the host)",
    "dns": "sends name lookups elsewhere", "dns_search": "changes name lookups", "dns_opt": "changes name lookups",
    "mac_address": "sets a MAC address", "sysctls": "changes kernel settings", "ulimits": "raises the process limits",
    "oom_kill_disable": "keeps a memory hog alive", "oom_score_adj": "makes the host kill other processes first",
    "storage_opt": "changes the storage driver's settings", "isolation": "changes the isolation technology",
    "credential_spec": "reads host credentials", "blkio_config": "changes block I/O weights",
    "cpu_count": "sets CPU options beyond `cpus`", "cpu_percent": "sets CPU options beyond `cpus`",
    "cpu_shares": "sets CPU options beyond `cpus`", "cpu_period": "sets CPU options beyond `cpus`",
    "cpu_quota": "sets CPU options beyond `cpus`", "cpu_rt_runtime": "sets real-time CPU time",
    "cpu_rt_period": "sets real-time CPU time", "cpuset": "pins CPUs", "mem_swappiness": "changes swapping",
    "extends": "pulls in another file or service (write the service out in full)",
    "provider": "makes Compose run a program on the host", "use_api_socket": "hands the container the Docker Engine",
    "post_start": "runs commands the grader cannot time-limit", "pre_stop": "runs commands during the grader's teardown",
    "develop": "watches files of the host", "annotations": "sets runtime annotations", "label_file": "reads a file of labels",
    "models": "asks for AI models", "links": "is a legacy option (services reach each other by name)",
}
MAX_COMPOSE_BYTES = 256 * 1024


def unsafe_reads(raw: dict[str, Any], folder: Path) -> list[str]:
    """Reasons to refuse, from the file as written, before Compose opens any other file: `include`, and every
    env file, secret, config, build context and Dockerfile that is not a small regular file inside `folder`
    named literally. `folder` is the grader's staged copy, which holds no links."""
    found = [f"`{key}:` pulls in other compose files; write the whole stack in this one file"
             for key in ("include",) if key in raw]
    dotenv = folder / ".env"
    if dotenv.is_file() and dotenv.stat().st_size > MAX_READ_BYTES:
        found.append(f"`.env` is larger than {MAX_READ_BYTES // 1024} KB")
    services = raw.get("services") if isinstance(raw.get("services"), dict) else {}
    for name, service in (services or {}).items():
        if not isinstance(service, dict):
            continue
        where = f"service `{name}`"
        found += [f"{where}: `{key}` {WHY_NOT[key]}" for key in ("extends", "label_file") if key in service]
        for path, required in _env_files(service.get("env_file")):
            found += _file_problems(where, "env_file", path, folder, required=required)
        build = service.get("build")
        if isinstance(build, str | dict):
            found += _build_problems(where, {"context": build} if isinstance(build, str) else build, folder)
    for kind in ("secrets", "configs"):
        items = raw.get(kind) if isinstance(raw.get(kind), dict) else {}
        for name, item in (items or {}).items():
            if isinstance(item, dict) and "file" in item:
                found += _file_problems(f"{kind[:-1]} `{name}`", "file", item["file"], folder)
    return found


def _env_files(value: Any) -> Iterator[tuple[Any, bool]]:
    for item in value if isinstance(value, list) else [value] if value is not None else []:
        if isinstance(item, dict):
            yield item.get("path"), item.get("required", True) is not False
        else:
            yield item, True


def _inside(path: Any, folder: Path) -> Path | None:
    """The path a literal relative name reaches from `folder`, if it stays inside it."""
    if not isinstance(path, str) or not path or "$" in path or path.startswith(("/", "~")) or "://" in path:
        return None
    target = Path(posixpath.normpath(posixpath.join(str(folder), path)))
    return target if target == folder or target.is_relative_to(folder) else None


def _outside(where: str, key: str, path: Any, what: str) -> str:
    why = "uses a variable" if "$" in str(path) else "is outside your folder"
    return f"{where}: `{key}: {path}` {why}; name {what} by a path relative to your folder, without variables"


def _file_problems(where: str, key: str, path: Any, folder: Path, required: bool = True) -> list[str]:
    target = _inside(path, folder)
    if target is None:
        return [_outside(where, key, path, "a file inside it")]
    if not target.exists():
        return [] if not required else [f"{where}: `{key}: {path}` does not exist in your folder"]
    if not target.is_file() or target.is_symlink():
        return [f"{where}: `{key}: {path}` is not a regular file"]
    if target.stat().st_size > MAX_READ_BYTES:
        return [f"{where}: `{key}: {path}` is larger than {MAX_READ_BYTES // 1024} KB"]
    return []


def _build_problems(where: str, build: dict[str, Any], folder: Path) -> list[str]:
    context = _inside(build.get("context", "."), folder)
    if context is None:
        return [_outside(where, "build.context", build.get("context"), "a folder inside it")]
    if not context.is_dir():
        return [f"{where}: `build.context: {build.get('context')}` is not a folder of yours"]
    dockerfile = build.get("dockerfile", "Dockerfile")
    if "dockerfile_inline" in build:
        return []  # refused with the other build keys once Compose has read the file
    target = _inside(dockerfile, context)
    if target is None:
        return [_outside(where, "build.dockerfile", dockerfile, "a file inside the build context")]
    if not target.is_file() or target.is_symlink():
        return [f"{where}: `build.dockerfile: {dockerfile}` is not a file in the build context"]
    return []


def refusals(compose: ComposeModel, folder: Path, max_replicas: int, swarm: bool = False) -> list[str]:
    """Every reason to refuse the stack Compose resolved; empty when it may run. `swarm`: a stack for
    `docker stack deploy`, which may also set Swarm's deploy keys and overlay networks."""
    model = compose.model
    found = [f"the top-level key `{key}` is not one the course uses" for key in sorted(compose.raw)
             if key not in ALLOWED_TOP and not key.startswith("x-")]
    services = model.get("services") or {}
    found += [f"the name `{name}` is the grader's own (it publishes the stack's ports); rename your {kind}"
              for kind, name in (("service", FRONT), ("network", INGRESS)) if name in (model.get(f"{kind}s") or {})]
    for name, service in services.items():
        found += [f"service `{name}`: {why}" for why in _service_refusals(service, folder, max_replicas, swarm)]
    found += _top_level_refusals(model, swarm)
    found += _swappable_binds(services, model.get("secrets") or {}, model.get("configs") or {}, folder)
    return found


def _service_refusals(service: dict[str, Any], folder: Path, max_replicas: int, swarm: bool) -> list[str]:
    why: list[str] = []
    for key, value in service.items():
        if key in PLAIN_SERVICE_KEYS or key.startswith("x-") or _harmless(key, value):
            continue
        judge = _swarm_deploy if swarm and key == "deploy" else SERVICE_JUDGES.get(key)
        if judge is None:
            reason = WHY_NOT.get(key) or "is not a key the course's labs use"
            why.append(f"`{key}: {_show(value)}` {reason}")
            continue
        why += judge(value, folder)
    replicas = _replicas(service)
    if replicas > max_replicas:
        why.append(f"asks for {replicas} replicas; the grader runs at most {max_replicas}")
    return why


def _show(value: Any) -> str:
    """A value as a learner wrote it, short: `true`, `host`, `[SYS_ADMIN]`."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _harmless(key: str, value: Any) -> bool:
    """A key set to what the engine does anyway (Compose's normalised output writes some of these out)."""
    return ((key == "privileged" and value is False) or (key == "network_mode" and value in ("", None))
            or (key in ("links", "external_links", "devices", "extra_hosts", "dns", "sysctls", "ulimits") and not value)
            or (key == "ipc" and value in ("private", "shareable", "")) or (key == "pid" and value in ("", None))
            or (key == "oom_kill_disable" and value is False))


def _replicas(service: dict[str, Any]) -> int:
    values = [service.get("scale"), (service.get("deploy") or {}).get("replicas")]
    return max([int(v) for v in values if isinstance(v, int | float | str) and str(v).isdigit()] or [1])


def _volumes(value: Any, folder: Path) -> list[str]:
    why = []
    for mount in value or []:
        kind, source = mount.get("type"), str(mount.get("source") or "")
        if kind == "bind":
            if any(source.endswith(sock) for sock in SOCKET_NAMES):
                why.append(f"mounts the container engine's socket ({source}), which controls the whole host")
            elif not Path(source).is_relative_to(folder):
                why.append(f"bind-mounts {source}, outside your folder; use a named volume, or a folder inside this one")
            extra = set(mount.get("bind") or {}) - {"create_host_path"}
            if extra:
                why.append(f"sets bind options {', '.join(sorted(extra))} on {source}")
        elif kind == "volume":
            if set(mount.get("volume") or {}) - {"nocopy"}:
                why.append(f"sets volume options {', '.join(sorted(set(mount['volume']) - {'nocopy'}))}")
        elif kind != "tmpfs":
            why.append(f"mounts a `{kind}`; use a named volume, a bind mount of your folder or a tmpfs")
    return why


def _cap_add(value: Any, _: Path) -> list[str]:
    caps = {str(c).upper().removeprefix("CAP_") for c in value or []}
    extra = caps - DEFAULT_CAPS
    return [f"adds capabilities {', '.join(sorted(extra))}, which reach past the container; a lab needs at most "
            "Docker's defaults (e.g. NET_BIND_SERVICE)"] if extra else []


def _security_opt(value: Any, _: Path) -> list[str]:
    bad = [str(o) for o in value or [] if not NO_NEW_PRIVILEGES.fullmatch(str(o).replace(" ", ""))]
    return [f"sets `security_opt: {', '.join(bad)}`; only no-new-privileges is allowed"] if bad else []


def _logging(value: Any, _: Path) -> list[str]:
    driver = (value or {}).get("driver") or "json-file"
    options = set((value or {}).get("options") or {}) - {"max-size", "max-file", "compress", "mode"}
    if driver not in LOG_DRIVERS or options:
        return [f"sends its logs with the `{driver}` driver{' and options ' + ', '.join(sorted(options)) if options else ''}; "
                "keep the engine's json-file or local log"]
    return []


def _restart(value: Any, _: Path) -> list[str]:
    return [] if RESTART.fullmatch(str(value)) else [f"has an unknown restart policy {value!r}"]


DEPLOY_KEYS = {"resources", "replicas", "restart_policy", "mode", "labels", "placement", "endpoint_mode"}
SWARM_DEPLOY_KEYS = DEPLOY_KEYS | {"update_config", "rollback_config"}


def _deploy(value: Any, _: Path, swarm: bool = False) -> list[str]:
    allowed = SWARM_DEPLOY_KEYS if swarm else DEPLOY_KEYS
    why = [f"sets `deploy.{key}`, which the course does not use" for key in sorted(set(value or {}) - allowed)]
    if (value or {}).get("placement") and not swarm:
        why.append("sets `deploy.placement`, which only a swarm uses")
    resources = (value or {}).get("resources") or {}
    for kind in ("limits", "reservations"):
        extra = set(resources.get(kind) or {}) - {"memory", "cpus", "pids", "devices", "generic_resources"}
        why += [f"sets `deploy.resources.{kind}.{key}`" for key in sorted(extra)]
    for device in (resources.get("reservations") or {}).get("devices") or []:
        if set(device.get("capabilities") or []) - {"gpu", "compute", "utility", "graphics", "video", "display"}:
            why.append(f"reserves devices with capabilities {device.get('capabilities')}; only GPUs are allowed")
    return why


def _swarm_deploy(value: Any, folder: Path) -> list[str]:
    return _deploy(value, folder, swarm=True)


def _networks(value: Any, _: Path) -> list[str]:
    why = []
    for network, options in (value or {}).items():
        extra = set(options or {}) - {"aliases"}
        if extra:
            why.append(f"sets {', '.join(sorted(extra))} on the network `{network}`; only aliases are allowed")
    return why


def _build(value: Any, _: Path) -> list[str]:
    allowed = {"context", "dockerfile", "args", "target", "labels", "no_cache", "pull", "shm_size", "network"}
    why = [f"sets `build.{key}`, which the grader does not allow"
           + (" (the grader names the images it builds)" if key == "tags" else "")
           for key in sorted(set(value or {}) - allowed)]
    if (value or {}).get("network") not in (None, "default", "none"):
        why.append(f"builds on the network `{value['network']}`")
    return why


def _pull_policy(value: Any, _: Path) -> list[str]:
    return [] if value in ("missing", "never", "if_not_present", "build", "") else [f"sets `pull_policy: {value}`"]


def _ports(value: Any, _: Path) -> list[str]:
    return [f"publishes with the unknown protocol {p.get('protocol')}" for p in value or []
            if p.get("protocol") not in (None, "tcp", "udp")]


SERVICE_JUDGES: dict[str, Callable[[Any, Path], list[str]]] = {
    "volumes": _volumes, "cap_add": _cap_add, "security_opt": _security_opt, "logging": _logging, "restart": _restart,
    "deploy": _deploy, "networks": _networks, "build": _build, "pull_policy": _pull_policy, "ports": _ports,
}


def _top_level_refusals(model: dict[str, Any], swarm: bool = False) -> list[str]:
    allowed = {
        "volumes": {"name", "labels", "driver"},
        "networks": {"name", "labels", "driver", "internal", "ipam", "enable_ipv6"},
        "secrets": {"name", "file"},
        "configs": {"name", "file", "content"},
    }
    if swarm:
        allowed["networks"] = allowed["networks"] | {"attachable"}
    found = []
    for kind, keys in allowed.items():
        for name, item in (model.get(kind) or {}).items():
            item = item or {}
            what = f"{kind[:-1]} `{name}`"
            for key in sorted(set(item) - keys):
                reason = {"external": "is external: the grader makes everything the stack uses, so declare it in the file",
                          "driver_opts": "sets driver_opts (they can bind a host path or change the host's network)",
                          "environment": "comes from the grader's environment; read it from a file in your folder"}
                found.append(f"{what} {reason.get(key, f'sets `{key}`, which the course does not use')}")
            if item.get("driver") not in (None, "local", "bridge", "", *(("overlay",) if swarm else ())):
                found.append(f"{what} uses the `{item['driver']}` driver; use the default one")
            if item.get("ipam"):
                found.append(f"{what} sets its own addresses (ipam), which could clash with the host's routes")
            if item.get("enable_ipv6"):
                found.append(f"{what} turns on IPv6")
    return found


def _swappable_binds(services: dict[str, Any], secrets: dict[str, Any], configs: dict[str, Any], folder: Path) -> list[str]:
    """A container that can write a folder could swap what is inside it for a link to `/` before another
    container (or its own restart) mounts that path, so a writable bind mount may not hold another mount's source."""
    writable = {Path(m["source"]) for s in services.values() for m in s.get("volumes") or []
                if m.get("type") == "bind" and not m.get("read_only") and m.get("source")}
    sources = {Path(m["source"]): f"the bind mount of ./{Path(m['source']).relative_to(folder)}"
               for s in services.values() for m in s.get("volumes") or []
               if m.get("type") == "bind" and m.get("source") and Path(m["source"]).is_relative_to(folder)}
    for kind, items in (("secret", secrets), ("config", configs)):
        for name, item in items.items():
            if (item or {}).get("file"):
                sources[Path(item["file"])] = f"the {kind} `{name}`"
    found = []
    for outer in sorted(writable):
        inner = sorted(what for path, what in sources.items() if path != outer and path.is_relative_to(outer))
        if inner and outer.is_relative_to(folder):
            shown = f"./{outer.relative_to(folder)}".rstrip("/.") or "."
            found.append(f"the writable bind mount of {shown or '.'} holds {', '.join(inner)}: a container could swap it "
                         "for a link out of the folder; mount it read-only (:ro) or mount the folders side by side")
    return found

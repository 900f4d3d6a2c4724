"""What a submitted stack may not ask for: anything that reaches past its own containers into the host.

Refused before anything is built or started, each with the reason, so a learner's stack (untrusted code)
can never run privileged, share the host's namespaces, drive the Docker Engine or read the host's files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graders.compose_model import ComposeModel

DANGEROUS_CAPS = {"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_TIME", "SYS_BOOT", "NET_ADMIN",
                  "DAC_READ_SEARCH", "BPF", "PERFMON", "MAC_ADMIN", "MAC_OVERRIDE", "SYSLOG"}
HOST_NAMESPACES = ("network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup")
UNCONFINED = ("seccomp:unconfined", "seccomp=unconfined", "apparmor:unconfined", "apparmor=unconfined",
              "label:disable", "label=disable", "systempaths=unconfined")
SOCKET_NAMES = ("docker.sock", "containerd.sock", "podman.sock")


def refusals(compose: ComposeModel, folder: Path) -> list[str]:
    """Every reason to refuse this stack; empty when it may run."""
    folder = folder.resolve()
    model = compose.model
    found: list[str] = []
    for name, service in (model.get("services") or {}).items():
        # Compose inlines env files into `environment`, so their paths are read from the file as written.
        env_files = compose.raw_service(name).get("env_file") or []
        service = {**service, "env_file": [env_files] if isinstance(env_files, str | dict) else env_files}
        found += [f"service `{name}`: {why}" for why in _service_refusals(service, folder)]
    for kind in ("volumes", "networks"):
        for name, item in (model.get(kind) or {}).items():
            if isinstance(item, dict) and item.get("external"):
                found.append(f"{kind[:-1]} `{name}` is external: the grader makes everything the stack uses, "
                             "so declare it in the file instead")
            opts = (item or {}).get("driver_opts") or {} if isinstance(item, dict) else {}
            if kind == "volumes" and ("device" in opts or opts.get("o", "").find("bind") >= 0):
                found.append(f"volume `{name}` binds a host path through driver_opts")
    for kind in ("secrets", "configs"):
        for name, item in (model.get(kind) or {}).items():
            if isinstance(item, dict) and item.get("file") and not _inside(item["file"], folder):
                found.append(f"{kind[:-1]} `{name}` reads {item['file']}, outside your folder")
            if isinstance(item, dict) and item.get("external"):
                found.append(f"{kind[:-1]} `{name}` is external: declare it from a file in your folder")
    return found


def _service_refusals(service: dict[str, Any], folder: Path) -> list[str]:
    why: list[str] = []
    if service.get("privileged"):
        why.append("asks for `privileged: true`, which gives the container the whole host")
    for key in HOST_NAMESPACES:
        if str(service.get(key) or "") == "host":
            why.append(f"asks for `{key}: host`, which shares the host's {key.replace('_mode', '')} namespace")
    caps = {str(c).upper().removeprefix("CAP_") for c in service.get("cap_add") or []}
    if caps & DANGEROUS_CAPS:
        why.append(f"adds capabilities {', '.join(sorted(caps & DANGEROUS_CAPS))}, which reach past the container")
    for opt in service.get("security_opt") or []:
        if str(opt).replace(" ", "") in UNCONFINED:
            why.append(f"turns confinement off (`security_opt: {opt}`)")
    if service.get("devices") or service.get("device_cgroup_rules"):
        why.append("asks for host devices")
    if service.get("runtime") not in (None, "", "runc"):
        why.append(f"asks for the `{service['runtime']}` runtime")
    if service.get("cgroup_parent"):
        why.append("sets `cgroup_parent`")
    for mount in service.get("volumes") or []:
        why += _mount_refusals(mount, folder)
    for env_file in service.get("env_file") or []:
        path = env_file.get("path") if isinstance(env_file, dict) else env_file
        if path and not _inside(str(folder / str(path)), folder):
            why.append(f"reads the env file {path}, outside your folder")
    build = service.get("build") or {}
    if isinstance(build, dict):
        context = str(build.get("context") or "")
        if "://" in context or context.startswith("git@"):
            why.append(f"builds from a remote context ({context}); build from your folder")
        elif context and not _inside(context, folder):
            why.append(f"builds from {context}, outside your folder")
        if build.get("network") == "host" or build.get("privileged") or build.get("entitlements"):
            why.append("asks for a privileged or host-network build")
        for extra in (build.get("additional_contexts") or {}).values():
            if not str(extra).startswith(("docker-image://", "service:")) and not _inside(str(extra), folder):
                why.append(f"adds the build context {extra}, outside your folder")
    return why


def _mount_refusals(mount: dict[str, Any], folder: Path) -> list[str]:
    source = str(mount.get("source") or "")
    if mount.get("type") != "bind":
        return []
    if any(source.endswith(name) for name in SOCKET_NAMES):
        return [f"mounts the container engine's socket ({source}), which controls the whole host"]
    if not _inside(source, folder):
        return [f"bind-mounts {source}, outside your folder; use a named volume, or a folder inside this one"]
    return []


def _inside(path: str, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(folder)
    except ValueError:
        return False
    return True

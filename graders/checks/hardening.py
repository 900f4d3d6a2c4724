"""Runtime hardening of a stack's service, judged on the running container: what the engine applied
(HostConfig) and what the process really has (asked through /proc inside it), not only what the file says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graders import compose_model, engine
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.probes import request_service
from graders.results import Category


def _host_config(ctx: GradingContext, service: str) -> dict[str, Any]:
    _, stack = ctx.require_stack()
    config: dict[str, Any] = stack.container(service).get("HostConfig") or {}
    return config


def read_only_root(points: float, service: str, writable: str = "/tmp", name: str = "read_only_root") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        _, stack = ctx.require_stack()
        host = _host_config(ctx, service)
        if not host.get("ReadonlyRootfs"):
            return Outcome.failed(f"`{service}` can write anywhere in its filesystem (no `read_only: true`).",
                                  f"Add `read_only: true`, and `tmpfs: [{writable}]` for the one place the app writes.")
        code, _ = stack.exec(service, ["sh", "-c", "echo x > /mastery-probe"])
        if code == 0:
            return Outcome.failed(f"`{service}` says read_only, yet the grader could write /mastery-probe.", "")
        # `tmpfs: [/tmp]` lands in HostConfig.Tmpfs; the long volume form (`type: tmpfs`) in HostConfig.Mounts.
        tmpfs = set(host.get("Tmpfs") or {}) | {m.get("Target") for m in host.get("Mounts") or [] if m.get("Type") == "tmpfs"}
        if writable not in tmpfs:
            return Outcome.failed(f"The root filesystem is read-only, but {writable} is not a tmpfs, and the app writes there.",
                                  f"Add `tmpfs: [{writable}]` to `{service}`.")
        code, out = stack.exec(service, ["sh", "-c", f"echo x > {writable}/mastery-probe && rm {writable}/mastery-probe"])
        if code != 0:
            return Outcome.failed(f"{writable} is mounted but not writable by the app's user: {out.strip()[-200:]}",
                                  f"Give the tmpfs a mode the user can write, e.g. `{writable}:mode=1777`.")
        return Outcome.passed(f"The root filesystem is read-only (a write to / failed), and {writable} is a writable tmpfs.")

    return Check(name, "Read-only root filesystem", points, Category.SECURITY, (Need.STACK,), run)


def capabilities_dropped(points: float, service: str, allowed: tuple[str, ...] = ("NET_BIND_SERVICE",),
                         name: str = "capabilities_dropped") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        host = _host_config(ctx, service)
        dropped = {c.upper().removeprefix("CAP_") for c in host.get("CapDrop") or []}
        added = {c.upper().removeprefix("CAP_") for c in host.get("CapAdd") or []} - set(allowed)
        if "ALL" not in dropped:
            return Outcome.failed(f"`{service}` keeps Docker's default capabilities (cap_drop is {sorted(dropped) or 'empty'}).",
                                  "Add `cap_drop: [ALL]`: the app needs none of them to serve HTTP on a high port.")
        if added:
            return Outcome.failed(f"`{service}` drops ALL, then adds back {', '.join(sorted(added))}.",
                                  "Remove those from cap_add; an app that really needs one says which, and why.")
        effective = ctx.require_stack()[1].proc_status(service).get("CapEff", "")
        if effective and int(effective, 16) != 0 and not added:
            allowed_set = ", ".join(allowed)
            return Outcome.passed(f"cap_drop: [ALL]; the process keeps only what you allowed ({allowed_set}), CapEff {effective}.")
        return Outcome.passed(f"cap_drop: [ALL]; the running process has no capabilities (CapEff {effective or '0'}).")

    return Check(name, "All capabilities dropped", points, Category.SECURITY, (Need.STACK,), run)


def no_new_privileges(points: float, service: str, name: str = "no_new_privileges") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        opts = [str(o).replace("=", ":") for o in _host_config(ctx, service).get("SecurityOpt") or []]
        flag = ctx.require_stack()[1].proc_status(service).get("NoNewPrivs", "")
        if not any(o in ("no-new-privileges", "no-new-privileges:true") for o in opts):
            return Outcome.failed(f"`{service}` may gain privileges through setuid programs (NoNewPrivs {flag or '?'}).",
                                  "Add `security_opt: [\"no-new-privileges:true\"]`.")
        if flag and flag != "1":
            return Outcome.failed(f"The option is set, but the process reports NoNewPrivs {flag}.", "")
        return Outcome.passed("no-new-privileges is set, and the running process reports NoNewPrivs 1.")

    return Check(name, "No new privileges", points, Category.SECURITY, (Need.STACK,), run)


def service_non_root(points: float, service: str, name: str = "runs_as_non_root") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        seen = ctx.require_stack()[1].app_uid(service)
        if seen is None:
            return Outcome.failed(f"Could not read which user `{service}` runs as.", "Check that it is running.")
        uid, how = seen
        if uid == "0":
            return Outcome.failed(f"`{service}` runs as root (uid 0, seen from {how}).",
                                  "Create a user in the Dockerfile (RUN useradd --uid 10001 app) and switch to it with USER.")
        return Outcome.passed(f"`{service}` runs as uid {uid} (seen from {how}).")

    return Check(name, "Runs as a non-root user", points, Category.USER, (Need.STACK,), run, tags=("security",))


def secret_as_file(points: float, service: str, secret: str, port: int, path: str, header: str,
                   name: str = "secret_as_file") -> Check:
    """The secret is a file under /run/secrets, absent from the environment and the image's history, and the
    app uses it: a request without it is refused, one with it accepted."""

    def run(ctx: GradingContext) -> Outcome:
        compose, stack = ctx.require_stack()
        declared = (compose.model.get("secrets") or {}).get(secret) or {}
        if not declared.get("file"):
            return Outcome.failed(f"No secret `{secret}` read from a file is declared.",
                                  f"Declare it at the top level (secrets: {{{secret}: {{file: ./secrets/{secret}.txt}}}}) "
                                  f"and list it under the service's `secrets:`.")
        value = Path(declared["file"]).read_text(encoding="utf-8", errors="replace").strip()
        container = stack.container(service)
        mounted = [m for m in container.get("Mounts") or [] if m.get("Destination") == f"/run/secrets/{secret}"]
        if not mounted:
            return Outcome.failed(f"`{service}` has no /run/secrets/{secret}.", f"List `{secret}` under `{service}`'s `secrets:`.")
        env = " ".join((container.get("Config") or {}).get("Env") or [])
        if value and value in env:
            return Outcome.failed("The secret's value is also in the container's environment, where `docker inspect` "
                                  "and every child process see it.", "Pass only its path (API_KEY_FILE=/run/secrets/...).")
        history = engine.client().api.history(container["Image"])
        if value and any(value in (layer.get("CreatedBy") or "") for layer in history):
            return Outcome.failed("The secret's value is in the image's history (docker history shows it).",
                                  "Never pass a secret with ARG or ENV at build time; mount it at run time.")
        # Anywhere in the container's files but the secret's own mount: a copy baked into the image, an env file...
        # Asked as the app's own user: it can read any copy the app reads (root here has no capabilities).
        if value:
            code, out = stack.exec(service, ["grep", "-rlsF", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev",
                                             "--exclude-dir=run", "-e", value, "/"], timeout_s=60)
            # grep exits 2 when some file was unreadable, even after a match: the paths it printed are what counts.
            copies = [line for line in out.splitlines() if line.startswith("/")] if code in (0, 2) else []
            if copies:
                where = ", ".join(copies[:3])
                return Outcome.failed(f"The secret's value is in a file of the container besides /run/secrets/{secret}: "
                                      f"{where}. Whoever has the image has the key.",
                                      "Keep the key out of the build context's COPY (list it in .dockerignore) and let "
                                      f"the app read it from /run/secrets/{secret} only (API_KEY_FILE).")
        without = request_service(ctx, service, port, "POST", path, {"features": [1, 2, 3, 4]})
        with_key = request_service(ctx, service, port, "POST", path, {"features": [1, 2, 3, 4]}, headers={header: value})
        if without.status_code not in (401, 403) or with_key.status_code != 200:
            return Outcome.failed(f"POST {path} answered {without.status_code} without the key and {with_key.status_code} with it "
                                  "(expected 401 or 403, then 200).",
                                  "The app reads its key from the file named by API_KEY_FILE; check that the file is mounted there.")
        return Outcome.passed(f"/run/secrets/{secret} is mounted, the value is in neither the environment nor the image's "
                              f"history, and the app accepts only requests that carry it ({without.status_code} without, 200 with).")

    return Check(name, "Secret mounted as a file only", points, Category.SECURITY, (Need.STACK,), run)


def limits_set(points: float, service: str, name: str = "limits_set") -> Check:
    """Memory and CPU limits the learner declared, and that the engine applied."""

    def run(ctx: GradingContext) -> Outcome:
        compose, _ = ctx.require_stack()
        spec = compose.service(service)
        memory = compose_model.declared_memory(spec)
        limits = ((spec.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        cpus = spec.get("cpus") or limits.get("cpus")
        host = _host_config(ctx, service)
        missing = [what for what, value in (("memory", memory), ("CPU", cpus)) if not value]
        if missing or memory is None:
            return Outcome.failed(f"`{service}` declares no {' or '.join(missing)} limit.",
                                  "Add deploy.resources.limits (memory: 256M, cpus: \"0.5\"): a leak or a loop then "
                                  "stops at the limit instead of starving the host.")
        # The grader runs the stack with the lower of the learner's limit and its own (compose_model._cap_limits).
        if host.get("Memory") != min(memory, ctx.spec.limits.memory_bytes) or not host.get("NanoCpus"):
            applied_cpus = f"{host['NanoCpus'] / 1e9:g}" if host.get("NanoCpus") else "none"
            return Outcome.failed(f"`{service}` runs with a memory limit of {(host.get('Memory') or 0) / 2**20:.0f} MiB and "
                                  f"CPU limit {applied_cpus}, not the limits declared (memory {memory / 2**20:.0f} MiB, "
                                  f"cpus {cpus}).",
                                  "Declare both under deploy.resources.limits (or mem_limit and cpus) of this service.")
        return Outcome.passed(f"Memory limited to {memory / 2**20:.0f} MiB and CPU to {host['NanoCpus'] / 1e9:g}, "
                              "as the running container shows.")

    return Check(name, "Memory and CPU limits", points, Category.SECURITY, (Need.STACK,), run)


def restart_policy(points: float, service: str, name: str = "restart_policy") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        policy = (_host_config(ctx, service).get("RestartPolicy") or {}).get("Name") or "no"
        if policy in ("", "no"):
            return Outcome.failed(f"`{service}` is not restarted when it crashes (restart policy `no`).",
                                  "Add `restart: unless-stopped` (or on-failure).")
        return Outcome.passed(f"Restart policy `{policy}`.")

    return Check(name, "Restart policy", points, Category.SECURITY, (Need.STACK,), run)


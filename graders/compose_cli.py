"""The Compose CLI, our own small wrapper: `docker compose -f FILE ...` with a time limit on every command,
the grader's clean environment (compose_model.compose_env), no stdin, and a message instead of a
CalledProcessError. testcontainers stays for single containers; for Compose we need only these commands."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from graders.compose_model import compose_env
from graders.errors import GraderError


class StackCommandFailed(GraderError):
    """A `docker compose` command exited non-zero or ran past its limit; the message holds its output."""


def gist(text: str) -> str:
    """The line of some output that says what went wrong: the last error line, else the last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "refused" in line.lower() or "fatal" in line.lower()]
    return (errors or lines or [""])[-1][:240]


def shown(argv: list[str]) -> str:
    """The compose command without the grader's file path, as a learner would type it."""
    words = [w for i, w in enumerate(argv) if w != "-f" and (i == 0 or argv[i - 1] != "-f")]
    return " ".join(words)


@dataclass(frozen=True)
class ComposeCLI:
    """`docker compose` on one file, run from the file's folder."""

    file: Path
    timeout_s: float = 120.0

    def argv(self, *args: str) -> list[str]:
        return [shutil.which("docker", path=compose_env()["PATH"]) or "docker", "compose", "-f", str(self.file), *args]

    def run(self, *args: str, timeout_s: float | None = None) -> str:
        """One command; its stdout. Raises StackCommandFailed when it fails or outlives its limit."""
        argv = self.argv(*args)
        limit = timeout_s or self.timeout_s
        try:
            proc = subprocess.run(argv, capture_output=True, cwd=self.file.parent, timeout=limit, env=compose_env(),
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise StackCommandFailed(f"`{shown(argv)}` did not finish within {limit:.0f} s.",
                                     "Something in the stack waits forever: a healthcheck that never passes, or a build "
                                     "that never ends.") from exc
        if proc.returncode != 0:
            said = (proc.stderr or proc.stdout).decode(errors="replace").strip()
            raise StackCommandFailed(f"`{shown(argv)}` failed (exit {proc.returncode}): {gist(said)}")
        return proc.stdout.decode(errors="replace")

"""Does the image's own command run the lab's script, or only print what the script would print?

A batch job's output can be typed into `CMD echo ...`. So the grader starts the image once more, unchanged
but for the script, which it swaps for one that prints a fresh marker and fails: a command that runs the
script prints the marker; one that fakes the output does not, and one that prints the output anyway when
the script fails (`python report.py || printf ...`) shows the expected lines without the script. The probe
runs without network, under the lab's limits and the run's labels, and is removed whatever happens.
"""

from __future__ import annotations

import contextlib
import posixpath
import secrets
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graders import engine
from graders.limits import Limits
from graders.tar_stream import tar_bytes

PROBE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ScriptProbe:
    runs: bool
    said: str  # what the command printed with the script swapped (its first lines), or why it could not run
    output: str = ""  # all the command printed, the marker taken out


def command_argv(config: Mapping[str, Any]) -> list[str]:
    """ENTRYPOINT then CMD, with a shell form's command line split into its words."""
    argv = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    words: list[str] = []
    for i, arg in enumerate(argv):
        if i > 0 and argv[i - 1] == "-c" and posixpath.basename(argv[0]) in ("sh", "bash", "dash"):
            with contextlib.suppress(ValueError):
                words += shlex.split(arg.replace(";", " ; ").replace("&&", " && "))
                continue
        words.append(arg)
    return words


def script_path(config: Mapping[str, Any], script: str) -> str | None:
    """Where the command's script is in the image (absolute), or None when the command names no such file."""
    named = [word for word in command_argv(config) if posixpath.basename(word) == script]
    if not named:
        return None
    return posixpath.normpath(posixpath.join(config.get("WorkingDir") or "/", named[0]))


def probe(image_id: str, config: Mapping[str, Any], script: str, labels: Mapping[str, str], limits: Limits,
          env: Sequence[str] = ()) -> ScriptProbe:
    path = script_path(config, script)
    if path is None:
        shown = " ".join(command_argv(config)) or "(none)"
        return ScriptProbe(False, f"the image's command ({shown}) does not name {script}")
    marker = f"mastery-probe-{secrets.token_hex(8)}"
    # The marker, then a failure: a command that prints the expected lines anyway (`|| printf ...`) shows it.
    body = f"print({marker!r}, flush=True)\nraise SystemExit(3)\n".encode()
    archive = tar_bytes({posixpath.basename(path): (body, 0o644)})
    # An engine error is the grader's, not the learner's: it propagates (the check's verdict is `error`).
    with engine.probe_copy(image_id, limits, labels, environment=list(env)) as container:
        container.put_archive(posixpath.dirname(path), archive)
        container.start()
        try:
            container.wait(timeout=PROBE_TIMEOUT_S)
        except Exception:  # requests' own timeout types: the command outlived the probe
            return ScriptProbe(False, f"with {path} swapped, the command was still running after {PROBE_TIMEOUT_S:.0f} s")
        said = container.logs().decode("utf-8", "replace")
    lines = " / ".join(said.strip().splitlines()[:3]) or "nothing"
    return ScriptProbe(marker in said, f"with {path} swapped for one that prints a marker and fails, the image's "
                                       f"command printed {lines.replace(marker, '<the marker>')!r}, not the marker",
                       said.replace(marker, ""))

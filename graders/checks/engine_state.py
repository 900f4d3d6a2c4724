"""Engine-state checks: the learner ran `docker` commands in their own engine; each check looks at the containers
the task names (by name and label) and at the files it has them save, and says what differs and what to run.
They only read (graders/learner_objects.py): nothing the learner made is started, stopped, changed or removed."""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Any

from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.learner_containers import Wanted, as_asked
from graders.learner_objects import LearnerObjects
from graders.results import Category

NEEDS = (Need.ENGINE_STATE,)
FILE_NEEDS = (Need.FILES, Need.ENGINE_STATE)
TAIL_LINES = 8


def _view(ctx: GradingContext) -> LearnerObjects:
    assert ctx.learner is not None, "engine-state checks run only once the kind opened its view"
    return ctx.learner


def _word(arg: str) -> str:
    """An argument as a person types it: bare, in double quotes, or (holding those) as the shell quotes it."""
    if re.fullmatch(r"[\w@%+=:,./-]+", arg):
        return arg
    return f'"{arg}"' if '"' not in arg and "$" not in arg and "`" not in arg else shlex.quote(arg)


def command_of(attrs: dict[str, Any]) -> str:
    """The command the container runs, quoted so that it could be typed again."""
    return " ".join(_word(str(arg)) for arg in [attrs.get("Path", ""), *(attrs.get("Args") or [])]).strip()


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-TAIL_LINES:]) or "(nothing)"


def container_running(points: float, wanted: Wanted, name: str = "box_running") -> Check:
    """The container exists with the task's image and label, and runs now: a long-lived container needs a main
    process that does not end."""

    def run(ctx: GradingContext) -> Outcome:
        attrs = as_asked(ctx, wanted)
        if isinstance(attrs, Outcome):
            return attrs
        state = attrs.get("State") or {}
        status = state.get("Status", "")
        if status == "running":
            return Outcome.passed(f"`{wanted.name}` runs `{command_of(attrs)}` from `{wanted.image}`, labelled "
                                  f"`{wanted.label}`, since {state.get('StartedAt', '?')[:19]}.")
        if status == "paused":
            return Outcome.failed(f"`{wanted.name}` is paused.", f"Resume it: `docker unpause {wanted.name}`.")
        if status == "created":
            return Outcome.failed(f"`{wanted.name}` was created but never started.", f"Start it: `docker start {wanted.name}`.")
        return Outcome.failed(
            f"`{wanted.name}` is not running: it is {status or 'stopped'}, exit code {state.get('ExitCode')}, after its "
            f"command `{command_of(attrs)}` ended.",
            f"A container lives as long as its main process. Give it one that keeps going, in the background: "
            f"`docker rm {wanted.name}`, then `{wanted.command}`.")

    return Check(name, f"{wanted.name} runs from {wanted.image}", points, Category.STATE, NEEDS, run,
                 tags=("container",))


def job_succeeded(points: float, wanted: Wanted, expect: str, shows: str, program: str = "python",
                  name: str = "job_finished") -> Check:
    """A one-off container ran `program`, exited 0, and its logs match `expect` (a regular expression; `shows` is
    how the learner reads it): the engine keeps a stopped container's exit code and logs until it is removed."""

    def run(ctx: GradingContext) -> Outcome:
        attrs = as_asked(ctx, wanted)
        if isinstance(attrs, Outcome):
            return attrs
        command = command_of(attrs)
        if not PurePosixPath(str(attrs.get("Path", ""))).name.startswith(program):
            return Outcome.failed(f"`{wanted.name}` ran `{command}`, not {program}: the result must be computed, not "
                                  "printed.", f"Remove it (`docker rm {wanted.name}`) and run the task's command: "
                                              f"`{wanted.command}`.")
        state = attrs.get("State") or {}
        status = state.get("Status", "")
        if status == "created":
            return Outcome.failed(f"`{wanted.name}` was created but never started.",
                                  f"Start it and watch its output: `docker start -a {wanted.name}`.")
        if status in ("running", "paused", "restarting"):
            return Outcome.failed(f"`{wanted.name}` is still {status}: a one-off job must finish.",
                                  f"Wait for it with `docker wait {wanted.name}`; if it never ends, remove it "
                                  f"(`docker rm -f {wanted.name}`) and run `{wanted.command}`.")
        out, err = _view(ctx).logs(wanted.name)
        if state.get("ExitCode") != 0:
            return Outcome.failed(f"`{wanted.name}` ran `{command}` and exited with code {state.get('ExitCode')}. "
                                  f"Its last lines (`docker logs {wanted.name}`):\n{_tail(out + err)}",
                                  f"Read the error, remove the container (`docker rm {wanted.name}`) and run it again: "
                                  f"`{wanted.command}`.")
        if not re.search(expect, out + err):
            return Outcome.failed(f"`{wanted.name}` exited 0, but its logs do not show `{shows}`. They hold:\n"
                                  f"{_tail(out + err)}",
                                  f"Compute it from the task's numbers: `docker rm {wanted.name}`, then `{wanted.command}`.")
        return Outcome.passed(f"`{wanted.name}` ran `{command}`, exited 0, and its logs show `{shows}`.")

    return Check(name, f"{wanted.name} ran {program} and exited 0 with the result", points, Category.STATE, NEEDS, run,
                 tags=("container", "logs"))


def _mentions(text: str, word: str) -> list[str]:
    """The lines of text where word stands as a whole name (first-box, not first-boxes)."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(word)}(?![\w.-])")
    return [line for line in text.splitlines() if pattern.search(line)]


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def file_lists_containers(points: float, file: str, names: tuple[str, ...], command: str,
                          name: str = "ps_saved") -> Check:
    """The file holds a listing of the containers (`docker ps -a …`) that names each of them. Where a line starts
    with a container ID, it must be the ID the container has now: a listing from before it was made again is stale."""

    def run(ctx: GradingContext) -> Outcome:
        text = ctx.handed_in.get(file)
        if text is None or _blank(text):
            return Outcome.failed(f"`{file}` is missing or empty in your folder.", f"Save the listing: `{command}`.")
        absent = [n for n in names if not _mentions(text, n)]
        if absent:
            listed = [n for n in names if n not in absent]
            return Outcome.failed(
                f"`{file}` lists {', '.join(f'`{n}`' for n in listed) or 'none of the containers'} but not "
                f"{', '.join(f'`{n}`' for n in absent)}.",
                f"`docker ps` shows running containers only; `-a` adds the stopped ones (a finished job too). Make the "
                f"missing ones if they are not there, then save the listing again: `{command}`.")
        view = _view(ctx)
        for container in names:
            attrs = view.container(container)
            for line in _mentions(text, container):
                shown = re.match(r"\s*([0-9a-f]{12})\b", line)
                if attrs is not None and shown and not str(attrs.get("Id", "")).startswith(shown.group(1)):
                    return Outcome.failed(
                        f"`{file}` shows `{container}` with the ID {shown.group(1)}, but `{container}` now has the ID "
                        f"{str(attrs.get('Id', ''))[:12]}: the listing is older than the container.",
                        f"Save the listing again: `{command}`.")
        return Outcome.passed(f"`{file}` lists {', '.join(f'`{n}`' for n in names)}.")

    return Check(name, f"{file} lists {', '.join(names)}", points, Category.STATE, FILE_NEEDS, run,
                 tags=("files", "ps"))


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def file_holds_logs(points: float, file: str, job: Wanted, name: str = "logs_saved") -> Check:
    """The file holds what `docker logs` shows of the job, as it is now (stdout alone, as `>` saves it, or both
    streams, as `2>&1` does)."""
    command = f"docker logs {job.name} > {file}"

    def run(ctx: GradingContext) -> Outcome:
        text = ctx.handed_in.get(file)
        if text is None:
            return Outcome.failed(f"There is no `{file}` in your folder.", f"Save the job's logs: `{command}`.")
        view = _view(ctx)
        if view.container(job.name) is None:
            return Outcome.failed(f"No container named `{job.name}` to compare `{file}` with: its logs went with it.",
                                  f"Run the job again (`{job.command}`), then `{command}`.")
        out, err = view.logs(job.name)
        saved = _lines(text)
        # A job that printed nothing to stdout leaves `>` an empty file: that is its logs, saved as asked.
        if saved == _lines(out) or sorted(saved) == sorted(_lines(out) + _lines(err)):
            return Outcome.passed(f"`{file}` holds the {len(saved)} line(s) `docker logs {job.name}` shows.")
        if not saved:
            return Outcome.failed(f"`{file}` is empty, but `docker logs {job.name}` shows {len(_lines(out + err))} line(s).",
                                  f"Save them: `{command}`.")
        logs = _lines(out) or _lines(err) or [""]
        first = next((i for i, (a, b) in enumerate(zip(saved, logs, strict=False)) if a != b), min(len(saved), len(logs)))
        mine = saved[first] if first < len(saved) else "(the file ends)"
        theirs = logs[first] if first < len(logs) else "(the logs end)"
        return Outcome.failed(f"`{file}` differs from `docker logs {job.name}` at line {first + 1}: the file has "
                              f"`{mine}`, the logs `{theirs}`.", f"Save them again, unedited: `{command}`.")

    return Check(name, f"{file} holds the logs of {job.name}", points, Category.STATE, FILE_NEEDS, run,
                 tags=("files", "logs"))


def container_removed(points: float, wanted: Wanted, file: str, name: str = "temp_removed") -> Check:
    """The container is gone, and the file holds what `docker rm` printed (the names it removed): the engine
    keeps no trace of a removed container, so the learner's saved output is the evidence."""
    command = f"docker rm {wanted.name} > {file}"

    def run(ctx: GradingContext) -> Outcome:
        attrs = _view(ctx).container(wanted.name)
        if attrs is not None:
            status = (attrs.get("State") or {}).get("Status", "there")
            return Outcome.failed(f"A container named `{wanted.name}` is still there ({status}).",
                                  f"Remove it, saving what `docker rm` prints: `{command}`"
                                  + (" (`docker rm -f` for one that runs)." if status == "running" else "."))
        text = ctx.handed_in.get(file)
        if text is None or not _mentions(text, wanted.name):
            held = "is missing or empty" if text is None or _blank(text) else f"holds `{_tail(text)[:80]}`"
            return Outcome.failed(f"No container named `{wanted.name}` is left, but `{file}` {held}, not the name "
                                  "`docker rm` prints for each container it removes.",
                                  f"Make it again (`{wanted.command}`), then remove it: `{command}`.")
        return Outcome.passed(f"`{wanted.name}` is gone, and `{file}` holds what `docker rm` printed.")

    return Check(name, f"{wanted.name} made and removed", points, Category.STATE, FILE_NEEDS, run,
                 tags=("container", "files"))


def only_named_carry_label(points: float, label: str, names: tuple[str, ...], keep: tuple[str, ...],
                           name: str = "no_strays") -> Check:
    """Only the task's containers carry its label: each `docker run` without `--name` or `--rm` leaves another
    one behind, which the learner removes (the grader never does). `names` are the task's containers, `keep` those
    that should be there at the end (shown in the message)."""

    def run(ctx: GradingContext) -> Outcome:
        strays = []
        for container in _view(ctx).labelled(label):
            called = str((container.get("Names") or ["?"])[0]).lstrip("/")
            if called not in names:
                strays.append((called, str(container.get("Status", ""))))
        kept = ", ".join(f"`{n}`" for n in keep)
        if strays:
            listed = "; ".join(f"`{called}` ({status})" for called, status in strays)
            return Outcome.failed(f"Besides {kept}, {len(strays)} container(s) carry the label `{label}`: {listed}.",
                                  "Each `docker run` without `--rm` leaves a container behind, named by Docker when "
                                  f"you gave no `--name`. Remove the extra ones: `docker rm {' '.join(c for c, _ in strays)}`"
                                  " (`docker rm -f` for one that runs).")
        return Outcome.passed(f"Only {kept} carry the label `{label}`.")

    return Check(name, f"Only {', '.join(keep)} carry the lab's label", points, Category.STATE, NEEDS, run,
                 tags=("container", "cleanup"))

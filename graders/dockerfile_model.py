"""A Dockerfile read with BuildKit's own parser (the `dockerfile` package wraps the Go parser).

The parser accepts any instruction word; the checks here add what `docker build` would reject
(unknown instructions, no FROM) so a learner hears about it before a build starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile

from graders.durations import parse_duration
from graders.errors import SubmissionError

KNOWN_INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
# Flags the legacy builder rejects: a Dockerfile using any of them needs BuildKit.
_BUILDKIT_FLAGS = ("--mount", "--network", "--security", "--link", "--chmod", "--parents", "--exclude",
                   "--checksum", "--keep-git-dir")
# BuildKit's automatic platform arguments: the legacy builder leaves them empty
# (`FROM --platform=$BUILDPLATFORM` then fails with "failed to parse platform").
_PLATFORM_ARG = re.compile(r"\$\{?(BUILD|TARGET)(PLATFORM|OS|ARCH|VARIANT)\b")

@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: tuple[str, ...]
    flags: tuple[str, ...]
    line: int
    original: str
    is_json: bool
    has_heredoc: bool

    def flag(self, name: str) -> str | None:
        """The value of `--name=value`, or None when the flag is absent."""
        for f in self.flags:
            key, _, value = f.partition("=")
            if key == f"--{name}":
                return value
        return None

    def mounts(self) -> list[dict[str, str]]:
        """Each `--mount=` option as its fields, e.g. {"type": "cache", "target": "/root/.cache/pip"}.

        Normalised as BuildKit reads them: type defaults to bind, dst/destination mean target,
        src means source, and a bare field (readonly) is "true".
        """
        aliases = {"dst": "target", "destination": "target", "src": "source"}
        found = []
        for f in self.flags:
            key, _, value = f.partition("=")
            if key != "--mount":
                continue
            fields = {"type": "bind"}
            for part in value.split(","):
                name, sep, val = part.strip().partition("=")
                fields[aliases.get(name.lower(), name.lower())] = val if sep else "true"
            found.append(fields)
        return found


@dataclass(frozen=True)
class HealthcheckSpec:
    test: tuple[str, ...]  # ("CMD", ...) or ("CMD-SHELL", "...") as the engine stores it; empty for NONE
    interval: float = 30.0
    timeout: float = 30.0
    start_period: float = 0.0
    retries: int = 3
    line: int = 0

    @property
    def disabled(self) -> bool:
        return not self.test


@dataclass
class Stage:
    base: str  # the image as BuildKit reads it: the global ARGs' defaults expanded (python:3.13-slim)
    name: str
    line: int
    platform: str = ""  # FROM --platform=..., as written ("$BUILDPLATFORM", "linux/amd64"); "" when absent
    written: str = ""  # the image as the learner wrote it (python:${PYTHON_VERSION}-slim)
    instructions: list[Instruction] = field(default_factory=list)

    def last(self, keyword: str) -> Instruction | None:
        found = [i for i in self.instructions if i.keyword == keyword]
        return found[-1] if found else None


@dataclass
class ParsedDockerfile:
    path: Path
    instructions: list[Instruction]
    stages: list[Stage]
    syntax_directive: str | None

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @property
    def needs_buildkit(self) -> bool:
        return any(ins.has_heredoc or any(f.split("=", 1)[0] in _BUILDKIT_FLAGS for f in ins.flags)
                   or _PLATFORM_ARG.search(ins.original) for ins in self.instructions)

    @property
    def uses_cache_mounts(self) -> bool:
        """Whether a RUN mounts a BuildKit cache: its build shares that cache with every build on the engine."""
        return any(m.get("type") == "cache" for ins in self.instructions if ins.keyword == "RUN" for m in ins.mounts())

    @property
    def user(self) -> str | None:
        ins = self.final.last("USER")
        return ins.args[0] if ins and ins.args else None

    def healthcheck(self) -> HealthcheckSpec | None:
        """The final stage's HEALTHCHECK (the one the image keeps), or None when it declares none."""
        ins = self.final.last("HEALTHCHECK")
        if ins is None:
            return None
        return _healthcheck_from(ins)


def _healthcheck_from(ins: Instruction) -> HealthcheckSpec:
    if not ins.args or ins.args[0].upper() == "NONE":
        return HealthcheckSpec(test=(), line=ins.line)
    kind, *rest = ins.args
    if kind.upper() != "CMD" or not rest:
        raise SubmissionError(
            f"line {ins.line}: HEALTHCHECK must be followed by CMD and a command (or NONE).",
            "Write it as: HEALTHCHECK --interval=10s CMD python -c \"...\"",
        )
    test = ("CMD", *rest) if ins.is_json else ("CMD-SHELL", " ".join(rest))
    options: dict[str, float] = {}
    retries = 3
    for flag in ins.flags:
        key, _, value = flag.lstrip("-").partition("=")
        try:
            if key == "retries":
                retries = int(value)
            elif key in ("interval", "timeout", "start-period", "start-interval"):
                options[key] = parse_duration(value)
            else:
                raise ValueError(f"unknown option --{key}")
        except ValueError as exc:
            raise SubmissionError(f"line {ins.line}: HEALTHCHECK {exc}.",
                                  "The options are --interval, --timeout, --start-period and --retries.") from exc
    return HealthcheckSpec(test=test, interval=options.get("interval", 30.0),
                           timeout=options.get("timeout", 30.0),
                           start_period=options.get("start-period", 0.0), retries=retries, line=ins.line)


def parse_dockerfile(path: Path) -> ParsedDockerfile:
    """Parse and validate; a SubmissionError names the line and what to change."""
    if not path.is_file():
        raise SubmissionError(f"There is no {path.name} in {path.parent}.",
                              f"Create {path.name} in your lab folder (the starter has one to fill in).")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path.name} is not UTF-8 text.", "Save the file as plain UTF-8 text.") from exc
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        if "no instructions" in str(exc):
            raise SubmissionError(f"{path.name} has no instructions yet.",
                                  "Start with FROM python:3.13-slim; the lab notebook walks you through the rest.") from exc
        raise SubmissionError(f"{path.name} does not parse: {exc}.",
                              "Every instruction starts a line, e.g. FROM python:3.13-slim.") from exc
    syntax = None
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if m := re.match(r"#\s*syntax\s*=\s*(\S+)", first):
        syntax = m.group(1)
    instructions = [
        Instruction(keyword=c.cmd.upper(), args=tuple(c.value), flags=tuple(c.flags), line=c.start_line,
                    original=c.original, is_json=c.json, has_heredoc=bool(c.heredocs))
        for c in commands
    ]
    for ins in instructions:
        if ins.keyword not in KNOWN_INSTRUCTIONS:
            raise SubmissionError(f"line {ins.line}: unknown instruction {ins.keyword!r}.",
                                  f"Check the spelling; instructions are {', '.join(sorted(KNOWN_INSTRUCTIONS))}.")
    stages: list[Stage] = []
    global_args: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "ARG" and not stages:
            global_args.update(arg_defaults(ins.args))
        if ins.keyword == "FROM":
            if not ins.args or not ins.args[0]:
                raise SubmissionError(f"line {ins.line}: FROM needs an image, e.g. FROM python:3.13-slim.")
            name = ins.args[2] if len(ins.args) >= 3 and ins.args[1].upper() == "AS" else ""
            stages.append(Stage(base=expand(ins.args[0], global_args), name=name, line=ins.line,
                                platform=ins.flag("platform") or "", written=ins.args[0]))
        elif stages:
            stages[-1].instructions.append(ins)
        elif ins.keyword != "ARG":
            raise SubmissionError(f"line {ins.line}: {ins.keyword} comes before any FROM.",
                                  "A Dockerfile starts with FROM (only ARG may come before it).")
    if not stages:
        raise SubmissionError(f"{path.name} has no FROM instruction.", "Start with FROM python:3.13-slim.")
    for stage in stages:
        hc = stage.last("HEALTHCHECK")
        if hc is not None:
            _healthcheck_from(hc)  # validate options early, with the line number
    return ParsedDockerfile(path=path, instructions=instructions, stages=stages, syntax_directive=syntax)


_VARIABLE = re.compile(r"\$(?:\{(?P<name>\w+)(?:(?P<op>:?[-+])(?P<word>[^}]*))?\}|(?P<bare>\w+))")


def arg_defaults(args: tuple[str, ...]) -> dict[str, str]:
    """`ARG NAME=default` (quotes removed) as {NAME: default}; an ARG without a default is empty, as in a
    build given no --build-arg."""
    out = {}
    for arg in args:
        name, _, value = arg.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[name] = value
    return out


def expand(text: str, variables: dict[str, str]) -> str:
    """`$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}` and `${NAME+word}` as BuildKit's
    lexer reads them in FROM (no nesting)."""

    def one(m: re.Match[str]) -> str:
        name = m.group("name") or m.group("bare")
        op, word = m.group("op"), m.group("word") or ""
        value, is_set = variables.get(name, ""), name in variables
        if op == ":-":
            return value or word
        if op == "-":
            return value if is_set else word
        if op == ":+":
            return word if value else ""
        if op == "+":
            return word if is_set else ""
        return value

    return _VARIABLE.sub(one, text)

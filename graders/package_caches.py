"""Where each package manager keeps what it downloads, and whether a RUN keeps it out of the image's layers.

Shared by the checks that judge caches (graders/checks/static.py: removed in the same layer; graders/checks/
buildkit.py: kept in a cache mount). A cache mount counts only for a tool the same RUN calls: a pip cache
mount on the RUN that calls apt-get keeps nothing apt reads.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    name: str
    called: re.Pattern[str]  # how a RUN calls it
    dirs: tuple[str, ...]  # where it keeps downloads, exactly
    suffixes: tuple[str, ...]  # ... or under any home (/root/.cache/pip, /home/app/.cache/pip)
    env: tuple[str, ...]  # variables that move its cache


TOOLS = (
    Tool("apt", re.compile(r"\bapt(-get)?\b"), ("/var/cache/apt", "/var/cache/apt/archives", "/var/lib/apt",
                                                 "/var/lib/apt/lists"), (), ()),
    Tool("apk", re.compile(r"\bapk\b"), ("/var/cache/apk", "/etc/apk/cache"), (), ()),
    Tool("pip", re.compile(r"\bpip3?\b|\bpython3? -m pip\b"), (), ("/.cache", "/.cache/pip"), ("PIP_CACHE_DIR",)),
    Tool("uv", re.compile(r"\buv\b"), (), ("/.cache", "/.cache/uv"), ("UV_CACHE_DIR",)),
    Tool("poetry", re.compile(r"\bpoetry\b"), (), ("/.cache", "/.cache/pypoetry"), ("POETRY_CACHE_DIR",)),
    Tool("conda", re.compile(r"\b(conda|mamba|micromamba)\b"), ("/opt/conda/pkgs",), ("/pkgs",), ("CONDA_PKGS_DIRS",)),
)


def tools_called(command: str) -> list[Tool]:
    return [tool for tool in TOOLS if tool.called.search(command)]


def keeps_cache_of(target: str, command: str, env: Mapping[str, str]) -> list[str]:
    """The tools this RUN calls whose downloads a mount at `target` holds (by their default place, a variable
    that moves it, or `--cache-dir`)."""
    target = target.rstrip("/") or "/"
    found = []
    for tool in tools_called(command):
        named = [env.get(key, "") for key in tool.env]
        named += [m for key in tool.env for m in re.findall(rf"\b{key}=(\S+)", command)]
        if tool.name == "pip":
            named += re.findall(r"--cache-dir[= ](\S+)", command)
        if target in tool.dirs or _in_a_home(target, tool.suffixes, env) or \
                target in {n.strip("\"'").rstrip("/") for n in named if n}:
            found.append(tool.name)
    return found


def _in_a_home(target: str, suffixes: tuple[str, ...], env: Mapping[str, str]) -> bool:
    """`target` is a tool's cache under a home folder (root's, a /home/<user>, the ENV's HOME) or XDG_CACHE_HOME."""
    for suffix in suffixes:
        if not target.endswith(suffix):
            continue
        home = target[: len(target) - len(suffix)]
        if home in ("/root", env.get("HOME", "/root")) or re.fullmatch(r"/home/[^/]+", home):
            return True
    xdg = env.get("XDG_CACHE_HOME", "").rstrip("/")
    return bool(xdg) and target in (xdg, *(xdg + suffix.removeprefix("/.cache") for suffix in suffixes))


OPERATORS = {"&&", "||", ";", "|", "&", ";;", "(", ")"}


def commands(command: str) -> list[list[str]]:
    """The simple commands of a RUN line, as word lists: split at `&&`, `||`, `;` and `|`, comments dropped
    (`pip install x  # --no-cache-dir` has no such option)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    out: list[list[str]] = [[]]
    try:
        for token in lexer:
            if token in OPERATORS:
                out.append([])
            else:
                out[-1].append(token)
    except ValueError:  # an unbalanced quote: judge the text as written
        return [command.split()]
    return [words for words in out if words]


def words(command: str) -> list[str]:
    return [word for simple in commands(command) for word in simple]


def removes_apt_lists(command: str) -> bool:
    """Whether the RUN deletes apt's package lists (`rm -rf /var/lib/apt/lists/*`), not only names them."""
    return any(simple[0] == "rm" and any(w.startswith("/var/lib/apt/lists") for w in simple[1:])
               for simple in commands(command))

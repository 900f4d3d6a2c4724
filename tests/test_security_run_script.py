"""Security's run-hardened.sh says it is "the same locked-down runtime as compose.yaml, with plain docker run":
every setting of the one is in the other, read from both files (the engine test runs compose.yaml's settings)."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

import yaml

from graders.spec import REPO_ROOT

FOLDER = REPO_ROOT / "course" / "samples" / "security"


def docker_run_argv() -> list[str]:
    """The script's `docker run` line, its continuation lines joined and its comments dropped."""
    words = shlex.split((FOLDER / "run-hardened.sh").read_text(encoding="utf-8"), comments=True)
    start = next(i for i in range(len(words) - 1) if words[i:i + 2] == ["docker", "run"])
    return words[start + 2:]


VALUED = {"--tmpfs", "--cap-drop", "--security-opt", "--user", "--restart", "--name", "--cpus", "--pids-limit",
          "--memory", "-p", "--mount"}


def run_settings(argv: list[str]) -> dict[str, Any]:
    """The flags of a `docker run`, in compose.yaml's words; what it does not know is kept to fail the test."""
    settings: dict[str, Any] = {"unknown": []}
    pairs = iter(argv)
    for word in pairs:
        flag, _, value = word.partition("=")
        if flag in VALUED and not value:
            value = next(pairs)
        if flag == "--read-only":
            settings["read_only"] = True
        elif flag == "--tmpfs":
            settings.setdefault("tmpfs", []).append(value)
        elif flag == "--cap-drop":
            settings.setdefault("cap_drop", []).append(value)
        elif flag == "--security-opt":
            settings.setdefault("security_opt", []).append(value if ":" in value else f"{value}:true")
        elif flag in {"--user", "--restart", "--name", "--cpus"}:
            settings[flag.lstrip("-")] = value
        elif flag == "--pids-limit":
            settings["pids_limit"] = int(value)
        elif flag == "--memory":
            settings["mem_limit"] = value
        elif flag == "-p":
            settings.setdefault("ports", []).append(value)
        elif flag == "--mount":
            settings.setdefault("mounts", []).append(dict(part.split("=", 1) if "=" in part else (part, True)
                                                          for part in value.split(",")))
        elif flag == "-d":
            continue
        elif flag.startswith("-"):
            settings["unknown"].append(word)
        else:
            settings["image"] = word
    return settings


def test_the_script_runs_compose_yamls_settings() -> None:
    compose = yaml.safe_load((FOLDER / "compose.yaml").read_text(encoding="utf-8"))
    service = compose["services"]["api"]
    seen = run_settings(docker_run_argv())
    assert seen.pop("unknown") == []
    assert seen.pop("name") == "forecast"
    assert float(seen.pop("cpus")) == float(service["cpus"])
    mount = seen.pop("mounts")
    assert mount == [{"type": "bind", "source": "$PWD/secrets/api_token", "target": "/run/secrets/api_token",
                      "readonly": True}], "the secret, where Compose puts it, read-only"
    assert service["secrets"] == ["api_token"]
    assert compose["secrets"]["api_token"] == {"file": "./secrets/api_token"}
    wanted = {key: service[key] for key in ("read_only", "tmpfs", "cap_drop", "security_opt", "user", "pids_limit",
                                             "mem_limit", "restart", "ports", "image")}
    assert seen == wanted


def test_the_script_is_valid_bash() -> None:
    done = subprocess.run(["bash", "-n", str(FOLDER / "run-hardened.sh")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_an_unknown_flag_is_not_passed_over() -> None:
    assert run_settings(["--privileged", "-d", "img"])["unknown"] == ["--privileged"]

"""The course project's model core (course/samples/project/forecast.py), loaded once for the tests that compare a
lesson's trainer or image with it. Every lesson's copy is the same file (tests/test_project.py), so one load
serves them all."""

from __future__ import annotations

import functools
import importlib.util
import json
import tomllib
from types import ModuleType
from typing import Any

from graders.spec import REPO_ROOT

PROJECT = REPO_ROOT / "course" / "samples" / "project"


@functools.cache
def forecast_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("project_forecast", PROJECT / "forecast.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fitted_model() -> dict[str, Any]:
    """What forecast.fit makes of the project's readings, as it reads back from model.json."""
    forecast = forecast_module()
    result: dict[str, Any] = json.loads(json.dumps(forecast.fit(forecast.read_readings(str(PROJECT / "readings.csv")))))
    return result


@functools.cache
def project_calls() -> list[dict[str, Any]]:
    """The project's requests and the answers its API gives (course/samples/project/samples.toml `http.calls`):
    what every lesson that serves the project's API must answer too."""
    calls: list[dict[str, Any]] = tomllib.loads((PROJECT / "samples.toml").read_text())["Dockerfile"]["http"]["calls"]
    return calls


def as_flask_prints(answer: Any) -> str:
    """An answer as Flask writes it and curl shows it: compact, keys sorted (the form the pages quote)."""
    return json.dumps(answer, sort_keys=True, separators=(",", ":"))

"""Endpoint checks: send a real HTTP request to the running container and judge status and JSON."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import requests

from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.probes import no_answer, request_container
from graders.results import Category

# Judges a decoded JSON body: None when it is right, else what is wrong (said to the learner).
JsonJudge = Callable[[Any], str | None]

# Draws a request body for one run, with the judge of its answer: inputs no hard-coded answer can match.
CaseDraw = Callable[[random.Random], tuple[Any, JsonJudge]]


def http_probe(name: str, title: str, points: float, method: str, path: str, *, body: Any = None,
               expect_status: int = 200, judge: JsonJudge | None = None, hint: str = "",
               cases: CaseDraw | None = None) -> Check:
    """One request and its judged answer. With `cases`, the body (and its judge) is drawn anew for every run."""

    def run(ctx: GradingContext) -> Outcome:
        body_now, judge_now = cases(random.Random()) if cases is not None else (body, judge)
        return _probe(ctx, method, path, body_now, expect_status, judge_now, hint)

    return Check(name, title, points, Category.ENDPOINT, (Need.SERVER,), run, tags=("http",))


def _probe(ctx: GradingContext, method: str, path: str, body: Any, expect_status: int, judge: JsonJudge | None,
           hint: str) -> Outcome:
    # Ready (healthy, or its port open) is not yet answering: the app behind the port may still be loading.
    ready = ctx.readiness is not None and ctx.readiness.ready
    try:
        response = request_container(ctx, method, path, body, timeout_s=15.0 if ready else 5.0)
    except requests.RequestException as exc:
        return no_answer(ctx, f"{method} {path}", exc)
    shown = response.text.strip()[:300]
    if response.status_code != expect_status:
        return Outcome.failed(f"{method} {path} answered {response.status_code}, expected {expect_status}. Body: {shown}",
                              hint or "Read the container's logs (docker logs) for the error behind this status.")
    if judge is None:
        return Outcome.passed(f"{method} {path} answered {response.status_code}.")
    try:
        data = response.json()
    except (json.JSONDecodeError, requests.JSONDecodeError):
        return Outcome.failed(f"{method} {path} did not answer JSON: {shown}",
                              hint or "Return JSON (Flask: return jsonify(...)).")
    problem = judge(data)
    if problem:
        return Outcome.failed(f"{method} {path}: {problem}. Body: {shown}", hint or "Compare with the lab's API contract.")
    return Outcome.passed(f"{method} {path} answered {response.status_code} with {shown[:120]}")

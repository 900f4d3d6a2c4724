"""Probes several check families share: an HTTP request to the graded container or to a stack's service
(retried while nothing answers yet), what to say when none came, and a psql command for a PostgreSQL service.
Kept here so that no check family imports another (tests/test_layering.py)."""

from __future__ import annotations

import shlex
import time
from typing import Any

import requests

from graders import engine
from graders.check_model import Outcome
from graders.context import GradingContext

CONNECT_HINT = ("The server must listen on 0.0.0.0 inside the container (127.0.0.1 is reachable only from inside), "
                "on the port the lab names, e.g. gunicorn --bind 0.0.0.0:8080 app:app.")


def _retrying(method: str, url: str, body: Any, headers: dict[str, str] | None, timeout_s: float,
              answer_s: float) -> requests.Response:
    """One request, repeated until timeout_s while the connection is refused or no answer comes within answer_s:
    the server is still starting. (gunicorn listens before its worker has loaded the app, and on a busy
    machine loading a model takes longer than one answer's wait.)"""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return requests.request(method, url, json=body, headers=headers, timeout=answer_s)
        except (requests.ConnectionError, requests.ReadTimeout):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.25)


def request_container(ctx: GradingContext, method: str, path: str, body: Any = None, timeout_s: float = 5.0,
                      headers: dict[str, str] | None = None) -> requests.Response:
    """An HTTP request to the container's published port, retried while nothing answers yet."""
    rc = ctx.require_container()
    if rc.host_port is None:
        raise requests.ConnectionError(f"port {ctx.spec.port} is not published")
    return _retrying(method, rc.base_url + path, body, headers, timeout_s, answer_s=5)


def request_service(ctx: GradingContext, service: str, port: int, method: str, path: str, body: Any = None,
                    timeout_s: float = 10.0, headers: dict[str, str] | None = None) -> requests.Response:
    """An HTTP request to a service's port as the grader's front published it, retried while nothing answers."""
    _, stack = ctx.require_stack()
    host_port = stack.port(service, port)
    if host_port is None:
        raise requests.ConnectionError(f"`{service}` publishes no port for {port}")
    return _retrying(method, f"http://{engine.site().published_host}:{host_port}{path}", body, headers, timeout_s, answer_s=10)


def no_answer(ctx: GradingContext, what: str, exc: Exception) -> Outcome:
    """A request got no answer: say why when the wait for the container already found out."""
    readiness = ctx.readiness
    if readiness is not None and not readiness.ready and readiness.hint:
        return Outcome.failed(f"{what}: no answer. {readiness.message}", readiness.hint)
    return Outcome.failed(f"{what}: no answer on port {ctx.spec.port} ({type(exc).__name__}).", CONNECT_HINT)


def psql(sql: str, database: str | None = None) -> list[str]:
    """A psql command for the official postgres image (or its stand-in): as POSTGRES_USER over the local
    socket, in POSTGRES_DB unless `database` names another, printing bare values."""
    db = shlex.quote(database) if database else '"${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"'
    return ["sh", "-c", f'psql -v ON_ERROR_STOP=1 -U "${{POSTGRES_USER:-postgres}}" -d {db} -tAc {shlex.quote(sql)}']

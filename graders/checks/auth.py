"""Authentication checks for a server that must not be open to anyone who reaches its port (JupyterLab):
it refuses requests without the token, accepts them with the token given at run time, and the image
itself carries no token."""

from __future__ import annotations

import re
import time
from typing import Any

import requests

from graders import engine
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.labels import run_labels
from graders.limits import Limits
from graders.probes import no_answer, request_container
from graders.results import Category
from graders.script_probe import command_argv


def requires_token(points: float, path: str, name: str = "requires_token") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        try:
            response = request_container(ctx, "GET", path, timeout_s=10)
        except requests.RequestException as exc:
            return no_answer(ctx, f"GET {path}", exc)
        if response.status_code in (401, 403):
            return Outcome.passed(f"GET {path} without the token answered {response.status_code}.")
        return Outcome.failed(f"GET {path} without any token answered {response.status_code}: anyone who reaches "
                              "the port can run code in your container.",
                              "Do not switch authentication off (no --IdentityProvider.token='' or "
                              "--ServerApp.token=''); let JupyterLab read the token from JUPYTER_TOKEN.")

    return Check(name, "Refuses requests without the token", points, Category.SECURITY, (Need.SERVER,), run,
                 tags=("auth",))


def accepts_token(points: float, path: str, name: str = "accepts_token") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        try:
            response = request_container(ctx, "GET", path, timeout_s=10,
                                         headers={"Authorization": f"token {ctx.secret}"})
        except requests.RequestException as exc:
            return no_answer(ctx, f"GET {path}", exc)
        if response.status_code == 200:
            return Outcome.passed(f"GET {path} with the token given at run time answered 200.")
        return Outcome.failed(f"GET {path} with the token given at run time (JUPYTER_TOKEN) answered "
                              f"{response.status_code}.",
                              "Let the server take its token from the JUPYTER_TOKEN environment variable set by "
                              "`docker run -e`; a token fixed in the image or the command overrides it.")

    return Check(name, "Accepts the token given at run time", points, Category.SECURITY, (Need.SERVER,), run,
                 tags=("auth",))


def no_secret_in_image(points: float, name: str = "no_secret_in_image") -> Check:
    """No token in the image: none in ENV or the command (shell-form lines read word by word, a `${VAR:-default}`
    fallback counted), and, asked of the server itself, none anywhere else: started without JUPYTER_TOKEN, a
    server with no token of its own generates one and prints it, while a configured one is printed masked."""

    def run(ctx: GradingContext) -> Outcome:
        config = ctx.image_attrs.get("Config", {})
        found = [key for key, value in (e.partition("=")[::2] for e in config.get("Env") or [])
                 if _secret_option(key) and value]
        found += [key for key, value in command_options(config) if _secret_option(key) and value]
        hint = ("Pass the token when the container starts: docker run -e JUPYTER_TOKEN=... (or an env file), never in "
                "ENV, ARG, CMD or a config file in the image.")
        if found:
            return Outcome.failed(f"The image itself carries a secret: {', '.join(found)}. Anyone who pulls the image "
                                  "reads it with docker inspect.", hint)
        assert ctx.build is not None
        printed = token_without_one(ctx.build.image_id, run_labels(ctx.run_id, ctx.spec.id), ctx.spec.limits)
        if printed == MASKED:
            return Outcome.failed("Started without JUPYTER_TOKEN, the server still used a token of its own (it printed "
                                  "`token=...`, as it does for a configured one): the image carries it, in a config "
                                  "file or a fallback.", hint)
        seen = ("; started without one, the server generated its own token" if printed
                else "; the server printed no token when started without one, so only ENV and the command were read")
        return Outcome.passed(f"No token, password or secret in the image's ENV or command{seen}.")

    return Check(name, "No token built into the image", points, Category.SECURITY, (Need.IMAGE, Need.ENGINE), run,
                 tags=("secrets",))


def _secret_option(key: str) -> bool:
    """A name whose last part is the secret itself (`--IdentityProvider.token`, `JUPYTER_TOKEN`, `db-password`),
    not an option about one (`--PasswordIdentityProvider.allow_password_change`)."""
    return bool(SECRET_OPTION.search(key.lstrip("-")))


SECRET_OPTION = re.compile(r"(^|[._-])(token|password|passwd|secret)$", re.I)
BOOLEANS = {"true", "false", "yes", "no", "0", "1"}


def command_options(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) of each `name=value` word of ENTRYPOINT and CMD, shell-form lines split into words; a value
    of `${VAR:-fallback}` counts as its fallback, and booleans as no value."""
    out = []
    for word in command_argv(config):
        key, sep, value = word.partition("=")
        if not sep:
            continue
        if m := re.fullmatch(r"\$\{\w+:?-([^}]*)\}", value):
            value = m.group(1)
        elif value.startswith("$"):
            value = ""  # the value comes from the environment at run time
        out.append((key, "" if value.lower() in BOOLEANS else value))
    return out


MASKED = "..."
TOKEN_IN_LOG = re.compile(r"[?&]token=(\S+)")


def token_without_one(image_id: str, labels: dict[str, str], limits: Limits, wait_s: float = 25.0) -> str | None:
    """The token a copy of the image prints when started without JUPYTER_TOKEN (no network): "..." when it has one
    of its own, the generated hex otherwise; None when it printed none in time."""
    with engine.probe_copy(image_id, limits, labels) as container:
        container.start()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            logs = container.logs().decode("utf-8", "replace")
            if m := TOKEN_IN_LOG.search(logs):
                return m.group(1)
            container.reload()
            if container.status != "running":
                return None
            time.sleep(0.5)
        return None

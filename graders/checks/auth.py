"""Authentication checks for a server that must not be open to anyone who reaches its port (JupyterLab):
it refuses requests without the token, accepts them with the token given at run time, and the image
itself carries no token."""

from __future__ import annotations

import re

import requests

from graders.checks.endpoint import no_answer, request_container
from graders.context import GradingContext
from graders.results import Category
from graders.spec import Check, Outcome, Phase

SECRET_NAME = re.compile(r"token|password|secret", re.I)


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

    return Check(name, "Refuses requests without the token", points, Category.SECURITY, Phase.RUNTIME, run,
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

    return Check(name, "Accepts the token given at run time", points, Category.SECURITY, Phase.RUNTIME, run,
                 tags=("auth",))


def no_secret_in_image(points: float, name: str = "no_secret_in_image") -> Check:
    """Judged from the built image's configuration: ENV and the command must carry no token or password."""

    def run(ctx: GradingContext) -> Outcome:
        config = ctx.image_attrs.get("Config", {})
        found = [e.split("=", 1)[0] for e in config.get("Env") or []
                 if SECRET_NAME.search(e.split("=", 1)[0]) and e.split("=", 1)[1]]
        found += [a.split("=", 1)[0] for a in (config.get("Cmd") or []) + (config.get("Entrypoint") or [])
                  if "=" in a and SECRET_NAME.search(a.split("=", 1)[0]) and a.split("=", 1)[1]]
        if found:
            return Outcome.failed(f"The image itself carries a secret: {', '.join(found)}. Anyone who pulls the image "
                                  "reads it with docker inspect.",
                                  "Pass the token when the container starts: docker run -e JUPYTER_TOKEN=... (or an "
                                  "env file), never in ENV, ARG or CMD.")
        return Outcome.passed("No token, password or secret in the image's ENV or command.")

    return Check(name, "No token built into the image", points, Category.SECURITY, Phase.BUILD, run,
                 tags=("secrets",))

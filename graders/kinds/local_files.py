"""What a kind says when a lab needs the engine to see this machine's files and the engine cannot: a
notebook folder or a stack's bind mounts and secret files exist only here, and a remote engine would mount
an empty folder of its own host instead, or fail with a path it does not know."""

from __future__ import annotations

from graders import engine
from graders.context import Blocker


def blocker(what: str) -> Blocker | None:
    """None when the engine is on this machine; else why the run cannot start, and what to do."""
    address = engine.address()
    if address.local and engine.site().sees_files:
        return None
    return Blocker("start", f"This lab mounts {what} from this machine, and the Docker Engine it grades on "
                            f"({address.url}, chosen by {address.source}) runs on another machine, which cannot see "
                            "this machine's files.",
                   "Grade this lab with a Docker Engine on this machine: unset DOCKER_HOST (or leave the remote "
                   "context), or pass --engine unix:///var/run/docker.sock.")

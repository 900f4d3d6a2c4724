"""Headless Chromium as every browser test starts it: Debian's package, no sandbox (tests run as root), and none
of the background requests that would leave the machine or slow the first page."""

from __future__ import annotations

import shutil
from typing import Any

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]


def chromium(pw: Any, extra_args: tuple[str, ...] = ()) -> Any:
    """A launched browser from a playwright instance (sync API); close it when done."""
    return pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=[*ARGS, *extra_args])

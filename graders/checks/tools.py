"""What the final image must not carry: compilers and build tools belong in a builder stage."""

from __future__ import annotations

from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.results import Category

BUILD_TOOLS = ("gcc", "cc", "g++", "c++", "make", "cpp")
# Installed compiler packages (dpkg's database, where the image has one; gcc-N-base is a runtime library every
# Debian image has) and the compiler proper (cc1), which
# `rm /usr/bin/gcc` leaves behind: the versioned driver (x86_64-linux-gnu-gcc-14) still compiles with it.
PACKAGED_TOOLS = ("{ command -v dpkg-query >/dev/null && dpkg-query -W -f '${db:Status-Status} ${Package}\\n' "
                  "'gcc*' 'g++*' 'cpp*' make binutils 2>/dev/null | awk '$1 == \"installed\" && $2 !~ /-base$/ {print $2}'; "
                  "ls /usr/lib/gcc/*/*/cc1 /usr/libexec/gcc/*/*/cc1 2>/dev/null; } | sort -u; true")


def no_build_tools(points: float, tools: tuple[str, ...] = BUILD_TOOLS, name: str = "no_build_tools") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        rc = ctx.require_container()
        probe = " ".join(f"command -v {t} >/dev/null 2>&1 && echo {t};" for t in tools)
        code, out = rc.exec(["sh", "-c", probe + " true"])
        if code != 0:
            return Outcome.failed(f"Could not look for build tools in the container: {out}",
                                  "Keep a shell (sh) in the image, as slim images have.")
        found = out.split()
        # A compiler removed only by its short names is still there: ask the package database and the driver's parts.
        code, left = rc.exec(["sh", "-c", PACKAGED_TOOLS])
        found += [name for name in left.split() if code == 0 and name not in found]
        if found:
            return Outcome.failed(f"The final image carries build tools: {', '.join(found)}.",
                                  "Compile in a builder stage (FROM ... AS builder), make a wheel there, and COPY "
                                  "--from=builder only the wheel into the final stage.")
        return Outcome.passed(f"None of {', '.join(tools)} is in the final image.")

    return Check(name, "No compilers or build tools in the final image", points, Category.SECURITY, (Need.CONTAINER,), run,
                 tags=("multi-stage",))

"""Print a short description of the Python environment this script runs in, and a fingerprint of it.

The fingerprint is a hash of the Python version, the operating system and every installed package
with its version. Two environments with the same fingerprint have the same software in them; one
changed package changes it. Run it on your machine, then in containers, and compare.
"""

import hashlib
import platform
from importlib import metadata


def installed_packages() -> list[str]:
    names = {(dist.metadata["Name"] or "?").lower(): dist.version for dist in metadata.distributions()}
    return [f"{name}=={version}" for name, version in sorted(names.items())]


def os_name() -> str:
    try:
        return platform.freedesktop_os_release()["PRETTY_NAME"]  # Linux: what /etc/os-release says
    except (OSError, AttributeError):
        return f"{platform.system()} {platform.release()}"  # macOS, Windows


packages = installed_packages()
description = [
    f"python {platform.python_version()}",
    f"os {os_name()}",
    f"machine {platform.machine()}",
    *packages,
]
fingerprint = hashlib.sha256("\n".join(description).encode()).hexdigest()[:12]

print(f"Python {platform.python_version()} on {os_name()} ({platform.machine()})")
shown = ", ".join(packages[:4]) + (", ..." if len(packages) > 4 else "")
print(f"{len(packages)} installed package{'' if len(packages) == 1 else 's'}: {shown}")
print(f"environment fingerprint: {fingerprint}")

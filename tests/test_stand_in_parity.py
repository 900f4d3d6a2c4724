"""The python:*-slim images behave as the official ones do for what learners write, stand-in or real.

Each expectation comes from the official images' Dockerfile (docker-library/python): CPython installed
into /usr/local with packages in /usr/local/lib/pythonX.Y/site-packages, `python`, `pip` and friends as
links in /usr/local/bin, PATH led by /usr/local/bin, LANG=C.UTF-8, PYTHON_VERSION set to the release,
CMD python3, headers kept for C extensions, and a pip that manages itself. The everyday patterns that
failed on the Debian-Python stand-ins are built here as a learner writes them: pip reinstalling itself,
`pip install --prefix=/install` copied into /usr/local, site-packages copied from a builder stage, and a
`pip install --user` as a non-root user. Everything installs offline (a wheel made here, pip's own wheel
from ensurepip), so the test needs no index; the same test holds on a machine that pulled the real images.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import zipfile
from contextlib import suppress

import docker.errors
import pytest

from graders import engine, images
from graders.engine import client
from graders.labels import image_tag, new_run_id, run_labels

pytestmark = [pytest.mark.engine, pytest.mark.slow]

PYTHONS = sorted(ref for ref, recipe in images.RECIPES.items() if recipe.python is not None)
LAB = "stand-in-parity"


def _wheel() -> bytes:
    """A minimal pure-Python wheel (module `parity_probe`), built by hand so no build backend is fetched."""
    files = {
        "parity_probe/__init__.py": b"WHERE = __file__\n",
        "parity_probe-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: parity-probe\nVersion: 1.0\n",
        "parity_probe-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("parity_probe-1.0.dist-info/RECORD,,")
    files["parity_probe-1.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return buffer.getvalue()


WHEEL = "parity_probe-1.0-py3-none-any.whl"

# A learner's Dockerfile, one pattern per stage; each RUN states what it proves, so a failed build names it.
DOCKERFILE = """\
FROM {ref} AS prefix
COPY {wheel} /tmp/
RUN pip install --no-cache-dir --prefix=/install /tmp/{wheel}

FROM {ref} AS sitepackages
COPY {wheel} /tmp/
RUN pip install --no-cache-dir /tmp/{wheel} \\
 && test -f /usr/local/lib/python{xy}/site-packages/parity_probe/__init__.py

FROM {ref}
COPY {wheel} /tmp/
RUN echo "pip manages itself (reinstalls its own wheel from ensurepip)" \\
 && pip install --no-cache-dir --no-index --force-reinstall \\
        --find-links /usr/local/lib/python{xy}/ensurepip/_bundled pip
COPY --from=prefix /install /usr/local
RUN echo "a --prefix=/install tree copied into /usr/local is importable" \\
 && python -c "import parity_probe as p; assert p.WHERE.startswith('/usr/local/lib/python{xy}/site-packages/'), p.WHERE"
COPY --from=sitepackages /usr/local/lib/python{xy}/site-packages /tmp/copied-site-packages
RUN echo "site-packages of a builder stage holds what pip installed there" \\
 && test -f /tmp/copied-site-packages/parity_probe/__init__.py
RUN echo "a virtual environment can be made and has pip" \\
 && python -m venv /opt/venv && /opt/venv/bin/pip --version
RUN echo "the headers C extensions compile against are kept" \\
 && test -f /usr/local/include/python{xy}/Python.h
RUN echo "the standard library's compiled modules are there" \\
 && python -c "import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, decimal, readline, dbm, hashlib; hashlib.sha256()"
RUN useradd --create-home --uid 10001 learner
USER learner
RUN echo "pip install --user works for a non-root user" \\
 && pip install --no-cache-dir --user /tmp/{wheel} \\
 && python -c "import parity_probe as p; assert p.WHERE.startswith('/home/learner/.local/lib/python{xy}/site-packages/'), p.WHERE"
"""


def _context(ref: str, xy: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", DOCKERFILE.format(ref=ref, wheel=WHEEL, xy=xy).encode()), (WHEEL, _wheel())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module", autouse=True)
def pythons_present() -> None:
    images.prepare(PYTHONS, say=lambda _message: None)


def _run(ref: str, script: str) -> str:
    run_id = new_run_id()
    output = client().containers.run(ref, ["python3", "-c", script], remove=True, network_disabled=True,
                                     labels=run_labels(run_id, LAB))
    return bytes(output).decode()


@pytest.mark.parametrize("ref", PYTHONS)
def test_python_lives_in_usr_local_as_in_the_official_image(ref: str) -> None:
    seen = json.loads(_run(ref, """
import json, os, platform, shutil, sys, sysconfig
print(json.dumps({
    "prefix": sys.prefix, "purelib": sysconfig.get_paths()["purelib"], "version": platform.python_version(),
    "env": {key: os.environ.get(key) for key in ("PATH", "LANG", "PYTHON_VERSION")},
    "which": {name: shutil.which(name) for name in ("python", "python3", "pip", "pip3")},
}))
"""))
    xy = ".".join(seen["version"].split(".")[:2])
    assert seen["prefix"] == "/usr/local"
    assert seen["purelib"] == f"/usr/local/lib/python{xy}/site-packages"
    assert ref.startswith(f"python:{xy}")
    assert seen["env"]["PYTHON_VERSION"] == seen["version"]
    assert seen["env"]["LANG"] == "C.UTF-8"
    assert seen["env"]["PATH"].split(":")[0] == "/usr/local/bin"
    assert seen["which"] == {name: f"/usr/local/bin/{name}" for name in ("python", "python3", "pip", "pip3")}
    config = client().images.get(ref).attrs["Config"]
    assert config["Cmd"] == ["python3"] and not config.get("Entrypoint")


@pytest.mark.parametrize("ref", PYTHONS)
def test_the_patterns_learners_write_build_as_on_the_official_image(ref: str, no_leftovers: None) -> None:
    version = client().images.get(ref).attrs["Config"]["Env"]
    xy = next(item.split("=", 1)[1] for item in version if item.startswith("PYTHON_VERSION=")).rsplit(".", 1)[0]
    run_id = new_run_id()
    tag = image_tag(LAB, run_id)
    try:
        client().images.build(fileobj=io.BytesIO(_context(ref, xy)), custom_context=True, tag=tag, rm=True,
                              forcerm=True, labels=run_labels(run_id, LAB), timeout=600)
    except docker.errors.BuildError as exc:
        log = "".join(str(line.get("stream", line.get("error", ""))) for line in exc.build_log)
        pytest.fail(f"{ref}: a pattern that works on the official image failed:\n{log[-3000:]}")
    finally:
        with suppress(docker.errors.ImageNotFound):
            client().images.remove(tag, force=True)
        engine.sweep(run_id)

"""A build that fails because the network did is built again, and a fault that outlasts the tries is the grader's
`error`, never the learner's `failed` (graders/network_faults.py).

The engine tests run real pip against a real package index that misbehaves on purpose: a small HTTP server
started inside the same RUN step (so no test depends on PyPI, and nothing outside the build is reached). It
answers 503 to the first try and serves a wheel to the next, or resets every connection, or knows no package
at all. What the first try saw is kept in a BuildKit cache mount, which outlives a failed step.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import graders.build
from graders import network_faults
from graders.build import _retried_on_lost_layers
from graders.checks.build import image_builds
from graders.checks.static import dockerfile_valid
from graders.limits import Limits
from graders.network_faults import failed_step_lines, network_fault
from graders.results import Status
from graders.runner import grade
from graders.spec import LabSpec
from graders.watch import Watched

# --- what counts as a network fault, on logs as the builders print them -------------------------------------

PIP_503 = [
    "#7 [2/3] RUN pip install -r requirements.txt",
    "#7 1.912 ERROR: Could not find a version that satisfies the requirement numpy==2.4.6 (from versions: none)",
    "#7 1.913 ERROR: No matching distribution found for numpy==2.4.6",
    "#7 ERROR: process \"/bin/sh -c pip install -r requirements.txt\" did not complete successfully: exit code: 1",
    "------",
    "ERROR: failed to build: failed to solve: process \"/bin/sh -c pip install -r requirements.txt\" did not "
    "complete successfully: exit code: 1",
]
PIP_TIMEOUT = [
    "#7 [2/3] RUN pip install pandas",
    "#7 3.1 WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection "
    "broken by 'ReadTimeoutError(\"HTTPSConnectionPool(host='pypi.org', port=443): Read timed out. (read timeout=15)\")': "
    "/simple/pandas/",
    "#7 80.2 ERROR: Could not find a version that satisfies the requirement pandas (from versions: none)",
    "#7 ERROR: process \"/bin/sh -c pip install pandas\" did not complete successfully: exit code: 1",
]
APT_DNS = [
    "Step 2/4 : RUN apt-get update && apt-get install -y curl",
    " ---> Running in 1c2d3e4f5a6b",
    "Err:1 http://deb.debian.org/debian trixie InRelease",
    "  Temporary failure resolving 'deb.debian.org'",
    "E: Unable to locate package curl",
    "The command '/bin/sh -c apt-get update && apt-get install -y curl' returned a non-zero code: 100",
]
TYPO_IN_CODE = [
    "#6 [2/3] RUN python -c 'import nump'",
    "#6 0.41 ModuleNotFoundError: No module named 'nump'",
    "#6 ERROR: process \"/bin/sh -c python -c 'import nump'\" did not complete successfully: exit code: 1",
]
EARLIER_STEP_RETRIED = [
    "#5 [2/4] RUN pip install pandas",
    "#5 2.0 WARNING: Retrying (Retry(total=4)) after connection broken by 'ReadTimeoutError(\"Read timed out.\")'",
    "#5 DONE 9.1s",
    *TYPO_IN_CODE,
]


def test_pip_without_versions_is_an_uncertain_fault() -> None:
    fault = network_fault(PIP_503)
    assert fault is not None and not fault.certain and fault.requirement == "numpy==2.4.6"


@pytest.mark.parametrize("log", [PIP_TIMEOUT, APT_DNS], ids=["pip-read-timeout", "apt-dns"])
def test_a_connection_fault_in_the_failed_step_is_certain(log: list[str]) -> None:
    fault = network_fault(log)
    assert fault is not None and fault.certain


@pytest.mark.parametrize("log", [TYPO_IN_CODE, EARLIER_STEP_RETRIED], ids=["code-error", "earlier-step-recovered"])
def test_a_failure_of_the_dockerfile_is_no_network_fault(log: list[str]) -> None:
    assert network_fault(log) is None


def test_the_failed_step_is_the_one_marked_error_or_the_last_legacy_step() -> None:
    assert failed_step_lines(EARLIER_STEP_RETRIED) == TYPO_IN_CODE
    assert failed_step_lines(APT_DNS) == APT_DNS[1:]


# --- real pip against an index that misbehaves -------------------------------------------------------------

INDEX = '''\
"""A package index for one test: MODE 503 answers 503 until TRIED exists (it makes it), reset closes every
connection unanswered, missing knows no package. The wheel it serves is made here."""
import http.server, io, os, socket, sys, zipfile
mode, tried = sys.argv[1], "/mark/tried"

def wheel():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("tinypkg/__init__.py", "")
        z.writestr("tinypkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: tinypkg\\nVersion: 1.0\\n")
        z.writestr("tinypkg-1.0.dist-info/WHEEL",
                   "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
        z.writestr("tinypkg-1.0.dist-info/RECORD", "")
    return buf.getvalue()

class Index(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\\1\\0\\0\\0\\0\\0\\0\\0")
            self.connection.close()
            return
        if mode == "503" and not os.path.exists(tried):
            open(tried, "w").close()
            self.send_error(503)
            return
        if mode == "missing" or not self.path.startswith(("/simple/tinypkg", "/files/")):
            self.send_error(404)
            return
        body = (wheel() if self.path.startswith("/files/")
                else b'<a href="/files/tinypkg-1.0-py3-none-any.whl">tinypkg-1.0-py3-none-any.whl</a>')
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream" if self.path.startswith("/files/") else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", 8765), Index).serve_forever()
'''
SPEC = LabSpec(
    id="build-retry-probe", title="Build retries", lesson="", kind="dockerfile", files=("Dockerfile",),
    base_images=("python:3.13-slim",), folder=Path(__file__).parent, port=None, run_mode="batch",
    limits=Limits(build_timeout_s=240, run_timeout_s=30), checks=(dockerfile_valid(1), image_builds(1)),
)


def grade_against_index(folder: Path, mode: str) -> tuple[Status, str, str]:
    """Grade a Dockerfile whose one RUN installs tinypkg from the index in `mode`; the build check's verdict."""
    (folder / "index.py").write_text(INDEX)
    (folder / "Dockerfile").write_text(
        "FROM python:3.13-slim\n"
        "COPY index.py /index.py\n"
        f"RUN --mount=type=cache,id=retry-{uuid.uuid4().hex},target=/mark \\\n"
        f"    (python /index.py {mode} >/dev/null 2>&1 &) && sleep 1 && \\\n"
        "    pip install --retries 1 --timeout 5 --no-cache-dir --index-url http://127.0.0.1:8765/simple tinypkg\n"
        'CMD ["python", "-c", "import tinypkg"]\n')
    result = grade(SPEC, folder).result("image_builds")
    return result.status, result.message, result.hint


@pytest.fixture
def short_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same tries, with pauses of a second: the length of a pause is no part of what is proven."""
    monkeypatch.setattr(network_faults, "CERTAIN_PAUSES_S", (1.0, 1.0))
    monkeypatch.setattr(network_faults, "UNCERTAIN_PAUSES_S", (1.0,))


@pytest.mark.engine
def test_an_index_that_fails_once_costs_one_more_try(tmp_path: Path, short_pauses: None, no_leftovers: None) -> None:
    status, message, _ = grade_against_index(tmp_path, "503")
    assert status is Status.PASSED, message


@pytest.mark.engine
def test_a_network_that_stays_down_is_the_grader_s_error(tmp_path: Path, short_pauses: None,
                                                         no_leftovers: None) -> None:
    status, message, hint = grade_against_index(tmp_path, "reset")
    assert status is Status.ERROR, message
    assert "failed 3 times because the network did" in message and "Connection reset by peer" in message, message
    assert "not your work's fault" in hint


@pytest.mark.engine
def test_a_package_the_index_does_not_know_is_the_learner_s_after_one_more_try(tmp_path: Path, short_pauses: None,
                                                                                no_leftovers: None) -> None:
    status, message, hint = grade_against_index(tmp_path, "missing")
    assert status is Status.FAILED, message
    assert "No matching distribution found for tinypkg" in message, message
    assert "pip found no version of tinypkg in 2 tries" in hint, hint


# --- a layer the engine lost while writing the image: built again, the grader's error when every try loses one ---

LOST_LAYER_LOG = [  # as BuildKit printed it in make test, when another worker removed an alike image at that moment
    "#12 exporting to image",
    "#12 exporting layers done",
    "#12 writing image sha256:8f3a6e1995c77c8d4bd91e62d6aa9ea7b194ba278b540befcde97badce79d0e8 done",
    "#12 ERROR: failed to get layer sha256:85a26b0d9abc21f5d15d94425ef68e49a91b91719419f7a1a3d0f29edb7e7f2c: "
    "layer does not exist",
    "ERROR: failed to build: failed to solve: failed to get layer "
    "sha256:85a26b0d9abc21f5d15d94425ef68e49a91b91719419f7a1a3d0f29edb7e7f2c: layer does not exist",
]

LOST_CONFIG_LINE = (  # the same race, reproduced with four threads building and removing alike images at once
    "ERROR: failed to build: failed to solve: failed to get digest sha256:2a5abfd489e86494ff2201942685b78ebda0d5276af9"
    "1039ff0c6844fa282ab8: open /var/lib/docker/image/overlay2/imagedb/content/sha256/2a5abfd489e86494ff2201942685b78"
    "ebda0d5276af91039ff0c6844fa282ab8: no such file or directory")


LOST_UNNAMED_LOG = [  # CI on stop 28: the jupyter solution and an alternative, built at once on two workers
    "exporting to image",
    "exporting layers done",
    "ERROR: layer does not exist",
    "ERROR: failed to build: failed to solve: layer does not exist",
]


def test_a_lost_layer_is_built_again_and_a_learner_s_failure_is_not() -> None:
    lost, built = Watched(1, LOST_LAYER_LOG, 1.0), Watched(0, ["#12 DONE 0.1s"], 1.0)
    said: list[str] = []
    tries = iter([built])
    watched, layer, count = _retried_on_lost_layers(lost, lambda left: next(tries), 1e9, said.append)
    assert (watched, layer, count) == (built, None, 2)
    assert said == ["The engine lost sha256:85a26b0d9abc while it wrote the image; building again without the cache."]

    always = _retried_on_lost_layers(lost, lambda left: lost, 1e9, None)
    assert always[1:] == ("sha256:85a26b0d9abc", 3)

    config = Watched(1, [LOST_CONFIG_LINE], 1.0)
    assert _retried_on_lost_layers(config, lambda left: config, 1e9, None)[1:] == ("sha256:2a5abfd489e8", 3)

    unnamed = Watched(1, LOST_UNNAMED_LOG, 1.0)
    assert _retried_on_lost_layers(unnamed, lambda left: unnamed, 1e9, None)[1:] == ("a layer", 3)

    typo = Watched(1, TYPO_IN_CODE, 1.0)
    assert _retried_on_lost_layers(typo, lambda left: pytest.fail("built again"), 1e9, None) == (typo, None, 1)


def grade_losing_layers(folder: Path, monkeypatch: pytest.MonkeyPatch, losses: int) -> tuple[Status, str, str]:
    """Grade a small Dockerfile whose first `losses` builds really run, then report a lost layer as the engine did."""
    real = graders.build.run_watched
    argvs: list[list[str]] = []

    def losing(argv: list[str], **kwargs: object) -> Watched:
        done = real(argv, **kwargs)  # type: ignore[arg-type]
        argvs.append(argv)
        return Watched(1, LOST_LAYER_LOG, done.seconds) if len(argvs) <= losses else done

    monkeypatch.setattr(graders.build, "run_watched", losing)
    (folder / "Dockerfile").write_text('FROM python:3.13-slim\nLABEL mastery.lost-layer-probe=1\nRUN echo ready > /ready\n'
                                        'CMD ["cat", "/ready"]\n')
    result = grade(SPEC, folder).result("image_builds")
    assert ["--no-cache" in argv for argv in argvs] == [False] + [True] * (len(argvs) - 1), "tries after a loss skip the cache"
    from graders.engine import client

    assert client().images.list(filters={"dangling": True, "label": "mastery.lost-layer-probe"}) == [], "no image left dangling"
    return result.status, result.message, result.hint


@pytest.mark.engine
def test_a_layer_lost_once_costs_one_more_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                no_leftovers: None) -> None:
    status, message, _ = grade_losing_layers(tmp_path, monkeypatch, losses=1)
    assert status is Status.PASSED, message


@pytest.mark.engine
def test_a_layer_lost_in_every_try_is_the_grader_s_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          no_leftovers: None) -> None:
    status, message, hint = grade_losing_layers(tmp_path, monkeypatch, losses=99)
    assert status is Status.ERROR, message
    assert "failed 3 times because the engine lost part of an image (sha256:85a26b0d9abc)" in message, message
    assert "not your work's fault" in hint

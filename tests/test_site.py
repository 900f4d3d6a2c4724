"""The course site builds strictly, and the code samples its lessons include are real, sound files.

The fast tests need no Docker: they run `mkdocs build --strict`, read the sample Dockerfiles with the
graders' own parser, and compile the sample Python. A sample whose name starts with `wrong-` shows a
mistake on purpose: it must break exactly the rules its lesson says it breaks, differ from the
working Dockerfile beside it in exactly the lines the lesson highlights, and the lesson must quote
the symptom. The engine tests at the end build the worked example and check what the lesson says
it prints.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import html as html_lib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from project_core import fitted_model

from graders.container import engine_host
from graders.dockerfile_model import ParsedDockerfile, parse_dockerfile
from graders.exec_probe import exec_in

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
SAMPLES = COURSE / "samples"
LESSON = COURSE / "workflows" / "serving-a-model.md"
BUILD_BUDGET_S = 30.0

# Servers fit to run an API in production. Flask's `app.run` (python app.py) is not one of them.
WSGI_SERVERS = {"gunicorn", "uvicorn", "waitress-serve", "hypercorn"}
# Tools a health check may call only when the Dockerfile installs them: slim images lack them.
NOT_IN_SLIM = ("curl", "wget")
INCLUDE = re.compile(r'^(?P<indent>[ \t]*)--8<-- "(?P<path>[^"]+)"', re.MULTILINE)


def _dockerfiles() -> list[Path]:
    """The model-serving samples: these rules are about an HTTP service (other samples are not servers;
    tests/test_samples.py validates every sample by its kind)."""
    return sorted(p for p in (SAMPLES / "serving-a-model").rglob("*")
                  if p.is_file() and (p.name == "Dockerfile" or p.name.endswith(".Dockerfile")))


def _rel(path: Path) -> str:
    return path.relative_to(SAMPLES).as_posix()


GOOD = [p for p in _dockerfiles() if not p.name.startswith("wrong-")]
WRONG = [p for p in _dockerfiles() if p.name.startswith("wrong-")]


# --- rules every working sample follows; each returns None, or what is wrong --------------------------

def _non_root_user(df: ParsedDockerfile) -> str | None:
    ins = df.final.last("USER")
    if ins is None or not ins.args:
        return "the final stage has no USER, so the app runs as root"
    user = ins.args[0].split(":")[0]
    return f"USER {user} is root" if user in ("root", "0") else None


def _healthcheck(df: ParsedDockerfile) -> str | None:
    hc = df.healthcheck()
    if hc is None or hc.disabled:
        return "no HEALTHCHECK"
    if hc.timeout >= hc.interval:
        return f"HEALTHCHECK timeout {hc.timeout:g} s is not shorter than its interval {hc.interval:g} s"
    return None


def _healthcheck_tools_present(df: ParsedDockerfile) -> str | None:
    hc = df.healthcheck()
    if hc is None or hc.disabled:
        return None  # reported by _healthcheck
    probe = " ".join(hc.test[1:])
    runs = " ".join(" ".join(i.args) for i in df.final.instructions if i.keyword == "RUN")
    for tool in NOT_IN_SLIM:
        if re.search(rf"\b{tool}\b", probe) and not re.search(rf"\binstall\b.*\b{tool}\b", runs):
            return f"the HEALTHCHECK calls {tool}, which the image does not install"
    return None


def _json_cmd(df: ParsedDockerfile) -> str | None:
    cmd = df.final.last("CMD")
    if cmd is None:
        return "no CMD"
    return None if cmd.is_json else "CMD is in shell form; write it as a JSON list"


def _wsgi_server(df: ParsedDockerfile) -> str | None:
    cmd = df.final.last("CMD")
    program = Path(cmd.args[0]).name if cmd and cmd.args else ""
    return None if program in WSGI_SERVERS else f"CMD starts {program!r}, not a production server"


def _bind_address(df: ParsedDockerfile) -> str | None:
    cmd = df.final.last("CMD")
    args = list(cmd.args) if cmd else []
    for i, arg in enumerate(args):
        if arg in ("--bind", "-b") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--bind="):
            return arg.split("=", 1)[1]
    return None


def _binds_all_interfaces(df: ParsedDockerfile) -> str | None:
    address = _bind_address(df)
    if address is None:
        return "CMD names no --bind address, so the server's default (often 127.0.0.1) applies"
    host = address.rsplit(":", 1)[0]
    return None if host in ("0.0.0.0", "[::]") else f"the server binds {address}, unreachable from outside"


def _ignored(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def _copy_sources(df: ParsedDockerfile) -> Iterator[str]:
    for ins in df.instructions:
        if ins.keyword in ("COPY", "ADD") and ins.flag("from") is None:
            yield from ins.args[:-1]


def _copied_files_exist(df: ParsedDockerfile) -> str | None:
    context = df.path.parent
    ignored = _ignored(context)
    for source in _copy_sources(df):
        if source == ".":
            continue
        if any(fnmatch.fnmatch(source, pattern) for pattern in ignored):
            return f"COPY {source}: .dockerignore keeps it out of the build context"
        if not (context / source).exists():
            return f"COPY {source}: there is no such file in the build context"
    return None


def _dependencies_before_code(df: ParsedDockerfile) -> str | None:
    stage = df.final.instructions
    install = next((n for n, i in enumerate(stage)
                    if i.keyword == "RUN" and "pip install" in " ".join(i.args)), None)
    if install is None:
        return None
    for ins in stage[:install]:
        if ins.keyword in ("COPY", "ADD") and any(s == "." or s.endswith(".py") for s in ins.args[:-1]):
            return f"line {ins.line}: code is copied before pip install, so each edit reinstalls the packages"
    return None


RULES: dict[str, Callable[[ParsedDockerfile], str | None]] = {
    "non_root_user": _non_root_user,
    "healthcheck": _healthcheck,
    "healthcheck_tools_present": _healthcheck_tools_present,
    "json_cmd": _json_cmd,
    "wsgi_server": _wsgi_server,
    "binds_all_interfaces": _binds_all_interfaces,
    "copied_files_exist": _copied_files_exist,
    "dependencies_before_code": _dependencies_before_code,
}

# Each mistake sample: the rules it must break (and no others), and the symptom its lesson quotes.
MISTAKES: dict[str, tuple[frozenset[str], str]] = {
    "serving-a-model/wrong-bind.Dockerfile":
        (frozenset({"binds_all_interfaces"}), "Connection reset by peer"),
    "serving-a-model/wrong-dev-server.Dockerfile":
        (frozenset({"wsgi_server", "binds_all_interfaces"}), "WARNING: This is a development server"),
    "serving-a-model/wrong-curl-healthcheck.Dockerfile":
        (frozenset({"healthcheck_tools_present"}), "/bin/sh: 1: curl: not found"),
    "serving-a-model/wrong-missing-artifact.Dockerfile":
        (frozenset({"copied_files_exist"}), '"/model.json": not found'),
    "serving-a-model/wrong-layer-order.Dockerfile":
        (frozenset({"dependencies_before_code"}), "`CACHED`"),
    # No rule reads who owns WORKDIR: the build itself shows it (tests/test_samples.py builds it).
    "serving-a-model/wrong-user-first.Dockerfile":
        (frozenset(), "PermissionError: [Errno 13] Permission denied"),
}


def _broken_rules(path: Path) -> dict[str, str]:
    df = parse_dockerfile(path)
    return {name: problem for name, rule in RULES.items() if (problem := rule(df)) is not None}


# --- (a) the site -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str], float]:
    """The site built once for the tests that read it: where, how mkdocs ended, and how long it took."""
    site = tmp_path_factory.mktemp("built") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    start = time.perf_counter()
    # From the repository root: the snippets' base_path "." is resolved against the working directory.
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, check=False)
    return site, proc, time.perf_counter() - start


def test_the_home_page_lists_every_lab_and_the_practice_page_every_question(
        built_site: tuple[Path, subprocess.CompletedProcess[str], float]) -> None:
    """The home page's table of labs and the practice exam's questions are written from the graders' own
    registries at build time (scripts/site_hooks.py), so neither can drift from what `mastery` knows."""
    from graders.exam.question_bank import default
    from graders.labs import all_labs
    from graders.progress_table import course_order

    site, proc, _ = built_site
    assert proc.returncode == 0, proc.stderr[-2000:]
    home = (site / "index.html").read_text(encoding="utf-8")
    listed = re.findall(r"<td><code>mastery check ([a-z0-9-]+)</code></td>", home)
    assert listed == [spec.id for spec in course_order(all_labs())]  # every lab, once, as `mastery progress` orders them
    for lab_id, spec in all_labs().items():
        assert f'href="{spec.lesson.removesuffix(".md")}/#lab-{lab_id}"' in home or \
            f'href="{spec.lesson.removesuffix(".md")}/index.html#lab-{lab_id}"' in home, lab_id
    questions = json.loads((site / "assets" / "generated" / "exam-bank.json").read_text(encoding="utf-8"))["questions"]
    assert [q["id"] for q in questions] == [q.id for q in default().questions]


def test_the_home_page_shows_every_lesson_in_the_navigations_order(
        built_site: tuple[Path, subprocess.CompletedProcess[str], float]) -> None:
    """The home page's module table and diagram are written from the navigation (graders/course_outline.py): the
    table lists every lesson once in the order the sidebar shows them, and the diagram names each of them."""
    from graders.course_outline import lessons

    site, proc, _ = built_site
    assert proc.returncode == 0, proc.stderr[-2000:]
    home = (site / "index.html").read_text(encoding="utf-8")
    table = home[home.index("What you will learn"):]
    linked = re.findall(r'<td><a href="([^"#]+)">', table)
    expected = [page.path.removesuffix(".md") + "/" for page in lessons()]
    assert [href.removesuffix("index.html") for href in linked] == expected
    diagram = html_lib.unescape(home[home.index('class="mermaid"'):])
    for number, page in enumerate(lessons(), 1):
        assert f"{number}. {page.title.split(':', 1)[0]}" in diagram, page.path


def test_site_builds_strictly_within_budget(built_site: tuple[Path, subprocess.CompletedProcess[str], float]) -> None:
    site, proc, seconds = built_site
    from conftest import FIGURES

    FIGURES["mkdocs build --strict"] = f"{seconds:.2f} s (budget {BUILD_BUDGET_S:g} s)"
    assert proc.returncode == 0, f"mkdocs build --strict exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    assert seconds < BUILD_BUDGET_S, f"the site took {seconds:.1f} s to build (budget {BUILD_BUDGET_S:g} s)"
    pages = list(site.rglob("*.html"))
    assert site.joinpath("workflows", "serving-a-model", "index.html").is_file()
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "--8&lt;--" not in html and "--8<--" not in html, f"{page}: a snippet was not included"
        assert "fonts.googleapis.com" not in html, f"{page}: loads Google Fonts (set theme.font: false)"


# --- (b) the sample Dockerfiles ---------------------------------------------------------------------

def test_there_are_samples_of_both_kinds() -> None:
    assert GOOD, "no working sample Dockerfile under course/samples"
    assert WRONG, "no wrong- sample Dockerfile under course/samples"


@pytest.mark.parametrize("path", GOOD, ids=_rel)
def test_working_sample_follows_every_rule(path: Path) -> None:
    assert _broken_rules(path) == {}


@pytest.mark.parametrize("path", GOOD, ids=_rel)
def test_working_sample_basics(path: Path) -> None:
    """Spelled out apart from the rules: non-root USER, a live HEALTHCHECK, a JSON-form CMD, a pinned base."""
    df = parse_dockerfile(path)
    user = df.final.last("USER")
    assert user is not None and user.args[0].split(":")[0] not in ("root", "0")
    hc = df.healthcheck()
    assert hc is not None and not hc.disabled and hc.interval <= 60
    cmd = df.final.last("CMD")
    assert cmd is not None and cmd.is_json
    for stage in df.stages:
        assert ":" in stage.base and not stage.base.endswith(":latest"), f"unpinned base image {stage.base}"
        assert not stage.base.startswith("python:3.9"), "Python 3.9 is past its end of life"


def test_every_mistake_sample_is_registered() -> None:
    assert {_rel(p) for p in WRONG} == set(MISTAKES), "register every wrong- sample in MISTAKES"


@pytest.mark.parametrize("path", WRONG, ids=_rel)
def test_mistake_sample_breaks_exactly_its_rules(path: Path) -> None:
    expected, _ = MISTAKES[_rel(path)]
    broken = _broken_rules(path)  # parses: a mistake sample shows a runtime mistake, not a syntax error
    assert set(broken) == expected, f"{path.name} breaks {broken}, expected exactly {sorted(expected)}"


def _includes() -> dict[str, list[tuple[Path, str]]]:
    """Sample path (relative to course/samples) -> [(page, the fence line above the include)]."""
    found: dict[str, list[tuple[Path, str]]] = {}
    for page in COURSE.rglob("*.md"):
        lines = page.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            m = INCLUDE.match(line)
            if m and m.group("path").startswith("course/samples/"):
                fence = lines[n - 1] if n else ""
                found.setdefault(m.group("path").removeprefix("course/samples/"), []).append((page, fence))
    return found


def _hl_lines(fence: str) -> set[int]:
    m = re.search(r'hl_lines="([^"]*)"', fence)
    out: set[int] = set()
    for part in (m.group(1).split() if m else []):
        first, _, last = part.partition("-")
        out.update(range(int(first), int(last or first) + 1))
    return out


def _changed_lines(good: Path, wrong: Path) -> set[int]:
    a = good.read_text(encoding="utf-8").splitlines()
    b = wrong.read_text(encoding="utf-8").splitlines()
    changed: set[int] = set()
    for op, _, _, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            changed.update(range(j1 + 1, j2 + 1))
    return changed


@pytest.mark.parametrize("path", WRONG, ids=_rel)
def test_lesson_shows_the_mistake_and_highlights_what_changed(path: Path) -> None:
    _, symptom = MISTAKES[_rel(path)]
    shown = _includes().get(_rel(path))
    assert shown, f"no lesson includes {_rel(path)}"
    good = path.with_name("Dockerfile")
    changed = _changed_lines(good, path)
    assert changed, f"{path.name} is the same as {good.name}"
    for page, fence in shown:
        assert _hl_lines(fence) == changed, (
            f"{page.name} highlights lines {sorted(_hl_lines(fence))} of {path.name}, "
            f"but the lines that differ from {good.name} are {sorted(changed)}")
        assert symptom in page.read_text(encoding="utf-8"), f"{page.name} does not quote {symptom!r}"


# --- (d) the lesson leads to its lab ----------------------------------------------------------------

def _jupyterlab_url(notebook: str) -> str:
    """Where `make course` (scripts/course.sh) serves a notebook: JupyterLab's root is labs/."""
    port, path = "8888", notebook.removeprefix("labs/")
    script = ROOT / "scripts" / "course.sh"
    if script.is_file():
        text = script.read_text()
        if m := re.search(r"LAB_PORT=\$\{LAB_PORT:-(\d+)\}", text):
            port = m.group(1)
        if '--notebook-dir="$PWD/labs"' not in text:
            path = notebook
    return f"http://127.0.0.1:{port}/lab/tree/{path}"


def test_lesson_links_the_lab_notebook_and_check_command() -> None:
    text = LESSON.read_text(encoding="utf-8")
    notebook = "labs/ml-api/ml-api.ipynb"
    link = f"[`{notebook}`]({_jupyterlab_url(notebook)})"
    assert link in text, f"the lesson should link the lab notebook as {link}"
    assert "mastery check ml-api" in text


def test_each_lab_page_opens_its_notebook_in_jupyterlab(built_site: tuple[Path, subprocess.CompletedProcess[str], float]) -> None:
    """scripts/site_hooks.py links every existing lab's notebook to JupyterLab, with the class the site's script
    unlinks on a copy not served locally; the lab's section has the anchor `mastery progress` links to."""
    from graders.labs import all_labs

    site, proc, _ = built_site
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (site / "assets" / "javascripts" / "lab-links.js").is_file()
    for lab_id, spec in all_labs().items():
        page = site / spec.lesson.removesuffix(".md") / "index.html"
        html = page.read_text(encoding="utf-8")
        url = _jupyterlab_url(f"labs/{lab_id}/{lab_id}.ipynb")
        links = [tag for tag in re.findall(r"<a\b[^>]*>", html) if f'href="{url}"' in tag]
        assert links and all('class="mastery-lab-link"' in tag for tag in links), f"{page}: no link {url} of class mastery-lab-link"
        assert f'id="lab-{lab_id}"' in html, f"{page}: no section with the anchor lab-{lab_id}"
        assert re.search(r'<script src="[./]*assets/javascripts/lab-links\.js"', html), f"{page}: without lab-links.js"


def test_only_existing_labs_get_a_jupyterlab_link() -> None:
    import importlib.util

    loader = importlib.util.spec_from_file_location("site_hooks", ROOT / "scripts" / "site_hooks.py")
    assert loader is not None and loader.loader is not None
    hooks = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(hooks)
    text = ("Open the notebook `labs/ml-api/ml-api.ipynb` in JupyterLab.\n"
            "    Open the notebook\n    `labs/k8s-deploy/k8s-deploy.ipynb` (coming).\n"
            "Open the notebook `labs/ml-api/other.ipynb`.\n")
    assert hooks.lab_links(text, frozenset({"ml-api"})) == (
        "Open the notebook [`labs/ml-api/ml-api.ipynb`](http://127.0.0.1:8888/lab/tree/ml-api/ml-api.ipynb)"
        "{ .mastery-lab-link } in JupyterLab.\n"
        "    Open the notebook\n    `labs/k8s-deploy/k8s-deploy.ipynb` (coming).\n"
        "Open the notebook `labs/ml-api/other.ipynb`.\n")
    assert _jupyterlab_url("labs/") == hooks.JUPYTERLAB, "the hook's JupyterLab is the one `make course` starts"


def test_each_lab_names_an_existing_lesson_that_leads_to_it() -> None:
    from graders.labs import all_labs

    for lab_id, spec in all_labs().items():
        page = COURSE / spec.lesson
        assert page.is_file(), f"lab {lab_id} names the lesson {spec.lesson}, which is not in course/"
        text = page.read_text(encoding="utf-8")
        assert f"labs/{lab_id}/{lab_id}.ipynb" in text and f"mastery check {lab_id}" in text


# --- engine: the worked example does what the lesson shows ------------------------------------------

SAMPLE_LABEL = "mastery.test"


@pytest.fixture
def engine() -> Any:
    """The engine client; the `engine` marker already skips (or, in CI, fails) where none answers."""
    import docker.errors

    from graders.engine import client

    try:
        client().images.get("python:3.13-slim")
    except docker.errors.ImageNotFound:
        pytest.skip("python:3.13-slim is not on this engine (make setup pulls it or builds a stand-in)")
    return client()


def _lesson_console() -> tuple[dict[str, Any], dict[str, Any], str]:
    """The request body, the answer and the `id` line that the worked example shows."""
    text = LESSON.read_text(encoding="utf-8")
    body = re.search(r"-d '(\{\"station\".*?\})'", text)
    answer = re.search(r"^(\{\"forecast\".*)$", text, re.MULTILINE)
    ident = re.search(r"^(uid=\d+\(\w+\).*)$", text, re.MULTILINE)
    assert body and answer and ident, "the worked example's console session is not on the page"
    return json.loads(body.group(1)), json.loads(answer.group(1)), ident.group(1)


def _run_until_healthy(client: Any, tag: str) -> Any:
    # The image's own health test, probed every 0.5 s instead of every 10 s (the engine merges the rest).
    container = client.containers.run(tag, detach=True, ports={"8000/tcp": None},
                                      labels={SAMPLE_LABEL: "site"}, healthcheck={"interval": 500_000_000})
    deadline = time.monotonic() + 60
    health = None
    while time.monotonic() < deadline:
        container.reload()
        health = container.attrs["State"].get("Health", {}).get("Status")
        if health == "healthy" or container.status == "exited":
            break
        time.sleep(0.5)
    assert health == "healthy", f"not healthy after 60 s: {health}\n{container.logs(tail=20).decode()}"
    return container


def _url(container: Any, path: str) -> str:
    port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
    return f"http://{engine_host()}:{port}{path}"


@contextlib.contextmanager
def healthy_sample(client: Any, dockerfile: str, tag: str) -> Iterator[Any]:
    """Build a sample, run it until healthy, and remove container and image whatever happens.

    Built as the learner builds it (BuildKit where the engine defaults to it): the Dockerfile has a train stage,
    which the classic builder would leave behind as untagged images."""
    from graders.build import build_image

    context = SAMPLES / "serving-a-model"
    build_image(context, context / dockerfile, tag, {SAMPLE_LABEL: "site"}, timeout_s=600)
    container = None
    try:
        container = _run_until_healthy(client, tag)
        yield container
    finally:
        if container is not None:
            container.remove(force=True)
        client.images.remove(tag, force=True)


@pytest.mark.engine
@pytest.mark.slow
def test_worked_example_runs_as_the_lesson_shows(engine: Any) -> None:
    """The forecast the page shows, from the user it shows; and the model.json that scikit-learn's train stage
    wrote is the one the project's standard-library fit makes, number for number (the page says so)."""
    body, answer, ident = _lesson_console()
    with healthy_sample(engine, "Dockerfile", "mastery-test/serving-a-model:site") as container:
        request = urllib.request.Request(_url(container, "/forecast"), data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response) == answer
        code, output = exec_in(container.id, ["id"], 15)
        assert code == 0 and output.strip() == ident
        code, output = exec_in(container.id, ["cat", "model.json"], 15)
        assert code == 0, output
    assert json.loads(output) == fitted_model()


@pytest.mark.engine
@pytest.mark.slow
def test_wrong_bind_is_healthy_but_unreachable(engine: Any) -> None:
    # Through the published port the request is reset, refused or left unanswered; never a 200.
    with (healthy_sample(engine, "wrong-bind.Dockerfile", "mastery-test/serving-a-model:wrong-bind") as container,
          pytest.raises((urllib.error.URLError, ConnectionError, TimeoutError))):
        urllib.request.urlopen(_url(container, "/health"), timeout=5)



"""The built site as a learner sees it: served locally, opened in headless Chromium, offline.

Checks the navigation, a content tab, a Mermaid diagram (served from the site, not a CDN), search,
and every internal link and anchor of the built HTML. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
from headless import chromium

from graders.spec import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"
TAB_PAGE = "fundamentals/"  # has content tabs for Windows, macOS and Linux
DIAGRAM_PAGE = "compose/"  # has a Mermaid diagram of the stack


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    subprocess.run(["bash", "scripts/vendor-mermaid.sh"], cwd=REPO_ROOT, check=True, timeout=300)
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")


def test_internal_links_and_anchors_resolve(site: Path) -> None:
    parsed: dict[Path, Links] = {}
    for page in site.rglob("*.html"):
        if page.name == "404.html":  # written with absolute links for any depth; nothing else is
            continue
        links = Links()
        links.feed(page.read_text(encoding="utf-8"))
        parsed[page] = links
    broken = []
    for page, links in parsed.items():
        base = "file://" + str(page)
        for href in links.hrefs:
            url = urlparse(urljoin(base, href))
            if url.scheme != "file":
                continue
            target = Path(unquote(url.path))
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {href}")
            elif url.fragment and target in parsed and url.fragment not in parsed[target].ids:
                broken.append(f"{page.relative_to(site)} -> {href} (no such anchor)")
    assert not broken, "\n".join(broken)


def test_no_page_loads_from_a_cdn(site: Path) -> None:
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in text and "unpkg.com" not in text, page
    assert (site / "assets/javascripts/vendor/mermaid.min.js").stat().st_size > 100_000


@pytest.mark.browser
def test_site_in_a_real_browser(served: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    requests_out: list[str] = []
    with sync_playwright() as pw:
        browser = chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests_out.append(r.url) if not r.url.startswith(served) else None)

            page.goto(served)
            nav = page.locator("nav.md-nav--primary")
            assert nav.get_by_text("Getting started").first.is_visible() or nav.count() > 0
            assert page.locator("nav.md-nav--primary >> text=Serving a model over HTTP").count() >= 1
            page.screenshot(path=str(ARTIFACTS / "site-home.png"))

            page.goto(served + TAB_PAGE)
            tabs = page.locator(".tabbed-set", has=page.locator(".tabbed-labels label", has_text="macOS")).first
            labels = tabs.locator(".tabbed-labels label")
            assert labels.count() >= 3, "the installation tabs"
            labels.nth(2).click()
            assert tabs.locator(".tabbed-content .tabbed-block").nth(2).is_visible()
            assert not tabs.locator(".tabbed-content .tabbed-block").nth(0).is_visible()
            page.screenshot(path=str(ARTIFACTS / "site-tabs.png"))

            page.goto(served + DIAGRAM_PAGE)
            diagram = page.wait_for_selector("div.mermaid", timeout=30_000)
            assert diagram is not None
            box = diagram.bounding_box()
            assert box is not None and box["height"] > 80, "the Mermaid diagram rendered to a drawing"
            assert page.locator("pre.mermaid").count() == 0, "every diagram was rendered"
            diagram.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "site-mermaid.png"))

            page.goto(served)
            page.locator("label.md-search__icon, .md-search__input").first.click()
            # Typed key by key, as a person does: the theme reads the query on keyup, so a fill() (one input event)
            # was lost whenever it came before the search had started (half the runs on a loaded machine).
            page.locator("input.md-search__input").press_sequentially("healthcheck", delay=20)
            page.wait_for_selector(".md-search-result__item", timeout=30_000)
            hits = [a.get_attribute("href") or "" for a in page.locator(".md-search-result__item a").all()]
            assert any(re.search(r"(workflows/serving-a-model|first-image|performance|compose)", h) for h in hits), hits
            page.screenshot(path=str(ARTIFACTS / "site-search.png"))

            # The instructors' page shows the class report the grader writes, drawn in the page; a learner's
            # name in it opens that learner's feedback page.
            page.goto(served + "instructors/")
            frame_element = page.locator("iframe.class-report-example")
            frame_element.scroll_into_view_if_needed()
            report = page.frame_locator("iframe.class-report-example")
            histogram = report.locator("figure.histogram svg")
            histogram.wait_for(timeout=30_000)
            box = histogram.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100, "the histogram is drawn"
            assert report.locator("table.checks tr").count() > 3
            page.screenshot(path=str(ARTIFACTS / "site-instructors-report.png"))
            report.locator("a[href='learners/ada/feedback.html']").click()
            report.locator("text=invented for this example").first.wait_for(timeout=30_000)
        finally:
            browser.close()
    assert not requests_out, f"the site asked for things outside itself: {requests_out[:5]}"



class EnvironmentHandler(QuietHandler):
    """The compose environment's docs server (environment/serve_docs.py): the site, and where its JupyterLab is."""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/mastery-environment.json":
            super().do_GET()
            return
        body = b'{"lab": "http://127.0.0.1:9888/"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.browser
def test_a_new_lesson_and_the_home_pages_order_in_a_real_browser(served: str) -> None:
    """The home page's diagram and module table, written from the navigation, render with a row for every lesson; a
    lesson of the second edition (engine-config.md) shows its practice answers folded until asked, and its lab's notebook link."""
    from playwright.sync_api import sync_playwright

    from graders.course_outline import lessons

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(served)
            diagram = page.wait_for_selector("div.mermaid", timeout=30_000)
            assert diagram is not None
            box = diagram.bounding_box()  # drawn in a closed shadow root: its labels are checked in test_site.py
            assert box is not None and box["height"] > 200, "the lessons' diagram rendered to a drawing"
            assert page.locator("pre.mermaid").count() == 0
            table = page.locator("table", has_text="What you will learn").first
            assert table.locator("tbody tr").count() == len(lessons())
            page.screenshot(path=str(ARTIFACTS / "site-home-order.png"), full_page=True)

            page.goto(served + "engine-config/")
            answer = page.locator("details.success", has_text="Still `json-file`").first
            if answer.count() == 0:  # the rendered text has no backticks
                answer = page.locator("details.success", has_text="Still json-file").first
            assert not answer.locator("p", has_text="keeps the log configuration").first.is_visible()
            answer.locator("summary").click()
            assert answer.locator("p", has_text="keeps the log configuration").first.is_visible()
            assert page.locator("a[href*='engine-config/engine-config.ipynb']").count() + \
                page.locator("code", has_text="labs/engine-config/engine-config.ipynb").count() >= 1
            page.screenshot(path=str(ARTIFACTS / "site-engine-config.png"), full_page=True)
        finally:
            browser.close()


def test_the_course_project_page_leads_to_each_step_in_a_real_browser(served: str) -> None:
    """The project page (course/project.md) shows its files in tabs and a table of steps; following a step lands on
    that lesson's worked example, which says which step it is and links back."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(served + "project/")
            files = page.locator(".tabbed-set").first
            code = files.locator(".tabbed-block", has_text="def forecast_days")
            assert not code.is_visible()  # a tab's file is shown only when chosen
            files.locator(".tabbed-labels label", has_text="app.py").click()
            assert code.is_visible()
            steps = page.locator("table", has_text="What the project gains").locator("tbody tr")
            source = (REPO_ROOT / "course" / "project.md").read_text(encoding="utf-8")
            assert steps.count() == len(re.findall(r"^\| \d+ \| \[", source, re.M)) >= 13
            steps.nth(4).locator("a").click()  # step 5: serving the model
            page.wait_for_url("**/workflows/serving-a-model/#worked-example-*")
            heading = page.locator("h2", has_text="Worked example").first
            assert heading.is_visible()
            assert page.locator("p", has_text="This is step 5 of").locator("a[href$='project/']").count() == 1
            page.screenshot(path=str(ARTIFACTS / "site-project-step.png"))
        finally:
            browser.close()


def test_lab_links_open_jupyterlab_only_where_the_site_is_local(site: Path, served: str) -> None:
    """course/assets/javascripts/lab-links.js: served from 127.0.0.1 or localhost, a lesson links its lab's notebook
    in the learner's JupyterLab (where the server says it is, if it does); under another name (a hosted copy) the
    link is plain text, the notebook's path still shown."""
    from playwright.sync_api import sync_playwright

    port = urlparse(served).port
    notebook = "/lab/tree/first-image/first-image.ipynb"
    environment = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(EnvironmentHandler, directory=str(site)))
    threading.Thread(target=environment.serve_forever, daemon=True).start()
    with sync_playwright() as pw:
        # A hosted copy, played by a name the browser resolves to the local server.
        browser = chromium(pw, ("--host-resolver-rules=MAP course.example.org 127.0.0.1",))
        try:
            page = browser.new_page()
            for base, lab in ((served, "http://127.0.0.1:8888"), (f"http://localhost:{port}/", "http://127.0.0.1:8888"),
                              (f"http://127.0.0.1:{environment.server_address[1]}/", "http://127.0.0.1:9888"),
                              (f"http://course.example.org:{port}/", None)):
                page.goto(base + "first-image/")
                section = page.locator("#lab-first-image + .admonition")
                assert "labs/first-image/first-image.ipynb" in section.inner_text(), base
                link = section.locator("a.mastery-lab-link")
                if lab is None:
                    page.wait_for_function("() => document.querySelectorAll('a.mastery-lab-link').length === 0", timeout=10_000)
                else:
                    page.wait_for_function(f"() => document.querySelector('#lab-first-image + .admonition a.mastery-lab-link')"
                                           f".getAttribute('href') === '{lab}{notebook}'", timeout=10_000)
                    assert link.count() == 1, base
        finally:
            browser.close()
            environment.shutdown()


@pytest.mark.browser
def test_practice_exam_asks_scores_and_reviews_in_a_real_browser(served: str) -> None:
    """The practice page (course/exam.md): multiple choice and DOMC rounds answered by the bank's own right
    options, scored per domain, a review whose lesson link lands on a section that exists, and a mock exam of 55
    timed questions."""
    from playwright.sync_api import sync_playwright

    from graders.exam.question_bank import default

    bank = default()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(served + "exam/")
            page.wait_for_selector("form.mastery-exam-menu", timeout=30_000)
            page.select_option("select[name=domain]", "networking")
            page.fill("input[name=count]", "3")
            page.select_option("select[name=mode]", "mc")
            page.click("button[data-action=practice]")
            for n in range(3):  # right, right, wrong
                box = page.wait_for_selector(".mastery-exam-question")
                assert box is not None
                question = bank.question(box.get_attribute("data-question") or "")
                assert question.domain == "networking" and box.get_attribute("data-mode") == "mc"
                pick = question.right if n < 2 else next(i for i in range(len(question.options)) if i != question.right)
                page.click(f".mastery-exam-option[data-option='{pick}']")
            assert "Score: 2 of 3 right, 67%" in page.locator(".mastery-exam-score").inner_text()
            assert page.locator("tr[data-domain=networking]").inner_text().split()[-1] == "67%"
            assert page.locator(".mastery-exam-review").count() == 1
            page.screenshot(path=str(ARTIFACTS / "site-exam-review.png"), full_page=True)

            page.click("text=Another round")
            page.select_option("select[name=mode]", "domc")
            page.fill("input[name=count]", "2")
            page.click("button[data-action=practice]")
            for n in range(2):  # the first answered right option by option; the second wrong at once
                box = page.wait_for_selector(".mastery-exam-question")
                assert box is not None
                question = bank.question(box.get_attribute("data-question") or "")
                while page.locator(f".mastery-exam-question[data-question='{question.id}']").count():
                    shown = int(page.locator("div.mastery-exam-option").get_attribute("data-option") or "0")
                    correct = question.options[shown].correct
                    page.click(f"button[data-answer={'yes' if correct == (n == 0) else 'no'}]")
            assert "Score: 1 of 2 right, 50%" in page.locator(".mastery-exam-score").inner_text()
            link = page.locator(".mastery-exam-review a").first
            href = link.get_attribute("href") or ""
            link.click()
            page.wait_for_url(re.compile(re.escape(href.rpartition("/")[2]) + "$"), timeout=30_000)
            anchor = unquote(urlparse(page.url).fragment)
            assert anchor and page.locator(f"[id='{anchor}']").count() == 1, page.url

            page.goto(served + "exam/")
            page.click("button[data-action=mock]")
            page.wait_for_selector(".mastery-exam-clock")
            progress = page.locator(".mastery-exam-progress").inner_text()
            assert progress.startswith("Question 1 of 55") and "left" in progress
            page.screenshot(path=str(ARTIFACTS / "site-exam-mock.png"))
        finally:
            browser.close()

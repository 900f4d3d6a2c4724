"""What a learner sees: the ml-api notebook in real JupyterLab, run in headless Chromium, shows the
verdict table with every check passed for the solution. Saves a screenshot under test-artifacts/."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from headless import chromium

from graders.labs import get_lab
from graders.spec import REPO_ROOT
from graders.submission import materialize

SPEC = get_lab("ml-api")
ARTIFACTS = REPO_ROOT / "test-artifacts"
pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.browser]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def jupyterlab(tmp_path: Path):  # type: ignore[no-untyped-def]
    labs = tmp_path / "labs"
    folder = materialize(SPEC, into=labs / SPEC.id)
    shutil.copy(SPEC.starter_dir / f"{SPEC.id}.ipynb", folder)
    port, token = free_port(), secrets.token_hex(16)
    bin_dir = Path(sys.executable).parent
    proc = subprocess.Popen(
        [str(bin_dir / "jupyter"), "lab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={labs}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=labs,
        env={"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "JUPYTER_PLATFORM_DIRS": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(f"{base}/api/status", params={"token": token}, timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_notebook_renders_the_verdict_in_jupyterlab(jupyterlab, no_leftovers: None) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    base, token = jupyterlab
    assert requests.get(f"{base}/api/status", timeout=5).status_code == 403, "the server must refuse requests without the token"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{SPEC.id}/{SPEC.id}.ipynb?token={token}", timeout=60_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar", timeout=60_000)
            _run_all_cells(page)
            table = page.wait_for_selector("table.mastery-report", timeout=300_000)
            assert table is not None
            rows = page.locator("table.mastery-report tbody tr")
            assert rows.count() == len(SPEC.checks)
            text = page.locator("table.mastery-report").inner_text()
            assert text.count("passed") == len(SPEC.checks), text
            assert "100/100 points" in text
            page.locator("table.mastery-report").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-ml-api.png"))
            # Every graded cell ran without an error: nbgrader would score each of them.
            page.wait_for_function(
                f"document.querySelectorAll('.jp-OutputArea-output').length >= {len(SPEC.checks)}", timeout=120_000)
            assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-ml-api-failed.png"), full_page=True)  # what the page showed
            raise
        finally:
            browser.close()


# A cell that has run or is running shows [n] or [*] in its prompt.
STARTED = "[...document.querySelectorAll('.jp-InputPrompt')].some(p => /\\[[*0-9]+\\]/.test(p.textContent))"


def _answer_dialogs(page, seen: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Answer whatever dialog JupyterLab put over the page with its default button, noting its text.

    On a busy machine the kernel may not have started when the page came up, and JupyterLab then asks which kernel
    to start (the course's settings say to start the preferred one, so this is the fallback); a slow server can also
    bring up a connection dialog. Either blocks every click on the page until it is answered."""
    for _ in range(3):
        dialog = page.locator(".jp-Dialog")
        if not dialog.count():
            return
        seen.append(" ".join(dialog.first.inner_text().split())[:200])
        accept = dialog.first.locator(".jp-Dialog-button.jp-mod-accept")
        if accept.count():
            accept.first.click(timeout=5_000)
        else:
            page.keyboard.press("Escape")
        page.wait_for_timeout(500)


def _run_all_cells(page) -> None:  # type: ignore[no-untyped-def]
    """Run > Run All Cells, again if no cell started: a dialog can come up at any moment while the page settles
    (answered, then the menu is tried again), and the menu can take the first click while it is still opening."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    seen: list[str] = []
    for attempt in range(4):
        try:
            _answer_dialogs(page, seen)
            page.get_by_role("menuitem", name="Run").click(timeout=10_000)
            page.get_by_text("Run All Cells", exact=True).click(timeout=10_000)
            page.wait_for_function(STARTED, timeout=60_000)
            return
        except PlaywrightTimeout:
            if attempt == 3:
                raise AssertionError(f"no cell started after four tries of Run > Run All Cells; dialogs answered: "
                                     f"{seen or 'none'}") from None
            page.keyboard.press("Escape")  # close a half-open menu before the next try

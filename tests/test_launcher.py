"""`make course` ends in scripts/course.sh: it must serve the site and a token-protected JupyterLab
that shows the labs."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from graders.spec import REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_course_script_serves_docs_and_jupyterlab(tmp_path: Path) -> None:
    if not (REPO_ROOT / "site" / "index.html").exists():
        subprocess.run(["make", "site"], cwd=REPO_ROOT, check=True, timeout=300)
    docs, lab = free_port(), free_port()
    log = tmp_path / "course.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["bash", "scripts/course.sh"], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "DOCS_PORT": str(docs), "LAB_PORT": str(lab)},
                                start_new_session=True)
    try:
        token = ""
        for _ in range(120):
            found = re.search(r"token=([0-9a-f]+)", log.read_text())
            if found:
                token = found.group(1)
                break
            time.sleep(0.5)
        assert token, log.read_text()[-2000:]
        assert requests.get(f"http://127.0.0.1:{docs}/", timeout=5).status_code == 200
        base = f"http://127.0.0.1:{lab}"
        assert requests.get(f"{base}/api/status", timeout=5).status_code == 403, "JupyterLab must require its token"
        listing = requests.get(f"{base}/api/contents/ml-api", params={"token": token}, timeout=5).json()
        names = {item["name"] for item in listing["content"]}
        assert {"ml-api.ipynb", "Dockerfile", "app.py"} <= names
        assert "solution" not in names
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

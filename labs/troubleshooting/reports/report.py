"""The model card's numbers: summarises the training data (train.csv) into /reports/summary.json, and
serves the /reports folder on port 8080 (http://localhost:PORT/summary.json).

The summary is written at start and again every minute. When the folder cannot be written, the service
says why in its log and tries again a few seconds later: it keeps running, but /summary.json answers 404,
so its healthcheck fails until the folder is fixed.
"""

import csv
import json
import os
import statistics
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).with_name("train.csv")
OUT = Path(os.environ.get("REPORT_DIR", "/reports"))
SUMMARY = OUT / "summary.json"


def summarise() -> dict:
    with DATA.open(newline="") as f:
        rows = list(csv.DictReader(f))
    columns = [c for c in rows[0] if c != "churned"]
    stats = {}
    for column in columns:
        values = [float(r[column]) for r in rows]
        stats[column] = {"mean": round(statistics.fmean(values), 3), "stdev": round(statistics.stdev(values), 3),
                         "min": min(values), "max": max(values)}
    churned = sum(int(r["churned"]) for r in rows)
    return {"rows": len(rows), "churn_rate": round(churned / len(rows), 3), "features": stats,
            "written_by_uid": os.getuid(), "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def keep_writing() -> None:
    while True:
        try:
            SUMMARY.write_text(json.dumps(summarise(), indent=2))
            print(f"wrote {SUMMARY}", flush=True)
            pause = 60
        except OSError as exc:
            print(f"cannot write the report: {type(exc).__name__}: {exc}", flush=True)
            pause = 5
        time.sleep(pause)


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the healthcheck asks every few seconds
        pass


if __name__ == "__main__":
    print(f"reports: running as uid {os.getuid()}, writing {SUMMARY}, serving {OUT} on 0.0.0.0:8080", flush=True)
    threading.Thread(target=keep_writing, daemon=True).start()
    ThreadingHTTPServer(("0.0.0.0", 8080), partial(Quiet, directory=str(OUT))).serve_forever()

"""Summarise sensor readings per station: the worked example of "Your first data-science image".

With no argument it makes a small, seeded data set of its own, so the image runs anywhere. Give it a
CSV with the columns station and temperature to summarise your data instead, for example the course
project's readings.csv, mounted read-only into the container:

    docker run --rm -v "$PWD:/data:ro" station-summary python summarize.py /data/readings.csv
"""

import csv
import random
import statistics
import sys
from collections import defaultdict

from tabulate import tabulate


def make_readings(seed: int = 42) -> list[tuple[str, float]]:
    """90 temperature readings from three stations, the same ones on every run."""
    rng = random.Random(seed)
    centres = {"harbour": 14.0, "hill": 9.5, "valley": 12.0}
    return [(station, round(rng.gauss(centre, 2.0), 1))
            for station, centre in centres.items() for _ in range(30)]


def read_readings(path: str) -> list[tuple[str, float]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["station"], float(row["temperature"])) for row in csv.DictReader(f)]


def summarize(readings: list[tuple[str, float]]) -> list[dict[str, float | int | str]]:
    by_station: dict[str, list[float]] = defaultdict(list)
    for station, temperature in readings:
        by_station[station].append(temperature)
    return [{"station": station, "n": len(values), "mean": round(statistics.fmean(values), 2),
             "min": min(values), "max": max(values)}
            for station, values in sorted(by_station.items())]


def main() -> None:
    readings = read_readings(sys.argv[1]) if len(sys.argv) > 1 else make_readings()
    rows = summarize(readings)
    print(f"{len(readings)} readings from {len(rows)} stations")
    print(tabulate(rows, headers="keys", floatfmt=".2f"))


if __name__ == "__main__":
    main()

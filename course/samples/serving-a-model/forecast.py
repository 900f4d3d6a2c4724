"""The course project's model: a straight line through each station's readings, followed a few days ahead.

Standard library only, so every image of the course can carry it. The lessons train the same line with pandas,
scikit-learn or PyTorch; all of them save it in this module's model.json format, which the API serves.
"""

import csv
import datetime
import json
import os
import statistics
from collections import defaultdict

MAX_DAYS = 14  # the furthest ahead the API forecasts: a line says little about next month's weather


def read_readings(path: str) -> list[tuple[str, datetime.date, float]]:
    """The rows of a CSV with the columns station, day (YYYY-MM-DD) and temperature."""
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["station"], datetime.date.fromisoformat(row["day"]), float(row["temperature"]))
                for row in csv.DictReader(f)]


def line_model(station: str, days: list[datetime.date], slope: float, intercept: float) -> dict:
    """One station's entry of model.json: the line, in °C per day from the station's first day."""
    return {"station": station, "first_day": min(days).isoformat(), "last_day": max(days).isoformat(),
            "n": len(days), "slope": round(slope, 4), "intercept": round(intercept, 4)}


def fit(readings: list[tuple[str, datetime.date, float]]) -> dict:
    """A least-squares line of temperature against day, per station."""
    by_station: dict[str, list[tuple[datetime.date, float]]] = defaultdict(list)
    for station, day, temperature in readings:
        by_station[station].append((day, temperature))
    stations = []
    for station, rows in sorted(by_station.items()):
        first = min(day for day, _ in rows)
        x = [(day - first).days for day, _ in rows]
        slope, intercept = statistics.linear_regression(x, [t for _, t in rows])
        stations.append(line_model(station, [day for day, _ in rows], slope, intercept))
    return {"rows": len(readings), "stations": {s["station"]: s for s in stations}}


def forecast(model: dict, station: str, days: int) -> list[dict]:
    """The next `days` days after the station's last reading, each with the line's temperature."""
    line = model["stations"][station]
    first = datetime.date.fromisoformat(line["first_day"])
    last = datetime.date.fromisoformat(line["last_day"])
    ahead = [last + datetime.timedelta(days=k) for k in range(1, days + 1)]
    return [{"day": day.isoformat(), "temperature": round(line["intercept"] + line["slope"] * (day - first).days, 1)}
            for day in ahead]


def save(model: dict, path: str) -> None:
    """Write model.json under a temporary name, then rename: a reader never sees half a model."""
    with open(f"{path}.tmp", "w", encoding="utf-8") as f:
        json.dump(model, f, indent=2)
    os.replace(f"{path}.tmp", path)

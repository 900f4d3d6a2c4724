"""Make readings.csv, the data of the course project: thirty days of noon temperatures at three weather
stations, seeded, so every copy of the course has the same numbers.

    python make_readings.py > readings.csv
"""

import csv
import datetime
import random
import sys

STATIONS = {"harbour": 11.0, "hill": 6.5, "valley": 9.0}  # the temperature on the first day, in °C
WARMING = {"harbour": 0.12, "hill": 0.20, "valley": 0.16}  # how much warmer each day, on average: spring
FIRST_DAY = datetime.date(2026, 3, 1)
DAYS = 30


def main(seed: int = 7) -> None:
    rng = random.Random(seed)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["station", "day", "temperature"])
    for station, start in STATIONS.items():
        for n in range(DAYS):
            day = FIRST_DAY + datetime.timedelta(days=n)
            out.writerow([station, day.isoformat(), round(start + WARMING[station] * n + rng.gauss(0, 1.0), 1)])


if __name__ == "__main__":
    main()

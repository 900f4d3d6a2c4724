"""Print how many measurements a CSV holds and their mean temperature (the lab's dataset, read from a volume)."""

import csv
import statistics
import sys

with open(sys.argv[1], newline="", encoding="utf-8") as handle:
    temperatures = [float(row["temperature"]) for row in csv.DictReader(handle)]
print(f"{len(temperatures)} measurements, mean temperature {statistics.mean(temperatures):.2f}")

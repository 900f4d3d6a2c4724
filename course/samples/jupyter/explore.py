"""A first look at the course project's readings: the worked example of "Jupyter in a container".

    python /project/explore.py    # in a terminal of JupyterLab, or as the command of `docker run ... ds-lab:1.0`
    %run /project/explore.py      # in a notebook cell: the tables print below the cell, and the plot shows there too

It prints, per station, the number of readings and their mean, lowest and highest temperature, then each
station's weekly means, and saves a plot of the three stations' temperatures as temperatures.png in the current
folder: /notebooks in the container, the folder you mounted there. Give a CSV path to explore other readings.
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

READINGS = Path(__file__).with_name("readings.csv")  # the project's readings, next to this script in the image


def main(path: Path = READINGS) -> None:
    readings = pd.read_csv(path, parse_dates=["day"])
    print(f"{len(readings)} readings from {readings['station'].nunique()} stations, "
          f"{readings['day'].min():%Y-%m-%d} to {readings['day'].max():%Y-%m-%d}\n")

    per_station = readings.groupby("station")["temperature"].agg(["count", "mean", "min", "max"])
    print("Temperatures per station (°C):")
    print(per_station.rename_axis(index=None).round(2), end="\n\n")

    # Weeks of seven days from the first day; the last one is shorter.
    weekly = readings.set_index("day").groupby("station")["temperature"].resample("7D").mean().unstack("station")
    print("Weekly means (°C), each week named by its first day:")
    print(weekly.rename_axis(index=None, columns=None).round(2), end="\n\n")

    fig, ax = plt.subplots(figsize=(8, 4))
    for station, rows in readings.groupby("station"):
        ax.plot(rows["day"], rows["temperature"], marker=".", label=station)
    ax.set_ylabel("noon temperature (°C)")
    ax.set_title("Noon temperatures per station")
    ax.legend()
    fig.autofmt_xdate()
    fig.savefig("temperatures.png", dpi=100, bbox_inches="tight")
    print(f"saved {Path.cwd() / 'temperatures.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else READINGS)

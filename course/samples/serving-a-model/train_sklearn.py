"""Train the course project's model with pandas and scikit-learn: the train stage of this lesson's Dockerfile.

    python train_sklearn.py readings.csv model.json

LinearRegression fits the same least-squares line per station as forecast.fit does with the standard
library; forecast.line_model and forecast.save write it in the same model.json format, so the API
serves it unchanged.
"""

import sys

import pandas as pd
from sklearn.linear_model import LinearRegression

from forecast import line_model, save


def main() -> None:
    source, target = (sys.argv[1:3] + ["readings.csv", "model.json"][len(sys.argv[1:3]):])
    readings = pd.read_csv(source, parse_dates=["day"])
    stations = {}
    for station, rows in readings.groupby("station"):
        # x: days since the station's first reading, one column as scikit-learn expects; y: the temperature.
        x = (rows["day"] - rows["day"].min()).dt.days.to_frame("days")
        fitted = LinearRegression().fit(x, rows["temperature"])
        stations[station] = line_model(station, list(rows["day"].dt.date),
                                       float(fitted.coef_[0]), float(fitted.intercept_))
    model = {"rows": len(readings), "stations": stations}
    save(model, target)
    for line in stations.values():
        print(f"{line['station']:8} {line['n']} days, {line['slope']:+.2f} °C a day")
    print(f"saved {target}: {model['rows']} readings from {len(stations)} stations (scikit-learn)")


if __name__ == "__main__":
    main()

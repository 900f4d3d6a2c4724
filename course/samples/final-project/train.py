"""Train the course project's model: read the readings, fit a line per station, save model.json.

    python train.py readings.csv model.json
"""

import sys

from forecast import fit, read_readings, save


def main() -> None:
    source, target = (sys.argv[1:3] + ["readings.csv", "model.json"][len(sys.argv[1:3]):])
    model = fit(read_readings(source))
    save(model, target)
    for line in model["stations"].values():
        print(f"{line['station']:8} {line['n']} days, {line['slope']:+.2f} °C a day")
    print(f"saved {target}: {model['rows']} readings from {len(model['stations'])} stations")


if __name__ == "__main__":
    main()

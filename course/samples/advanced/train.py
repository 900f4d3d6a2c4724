"""Trains the worked example's model of the lesson "Advanced patterns": ice-cream sales from temperature.

A straight line fitted by least squares, with the standard library only. The data are made up but
reproducible (a fixed seed), so every build trains the same model. It writes the model as JSON and
notes the CPU it was trained on, so the running API can show that the training stage ran on the
build machine, whatever CPU the image is for.
"""

import argparse
import json
import platform
import random
import statistics


def make_data(n: int = 200, seed: int = 7) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    temperatures = [rng.uniform(10.0, 35.0) for _ in range(n)]
    sales = [12.0 * t - 40.0 + rng.gauss(0.0, 15.0) for t in temperatures]
    return temperatures, sales


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="model.json")
    args = parser.parse_args()

    temperatures, sales = make_data()
    fit = statistics.linear_regression(temperatures, sales)
    model = {
        "slope": round(fit.slope, 4),
        "intercept": round(fit.intercept, 4),
        "trained_on": platform.machine(),
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(model, f, indent=2)
    print(f"trained: {model}")


if __name__ == "__main__":
    main()

"""Fit each station's line by gradient descent: the worked example of "Training on a GPU".

    python train.py readings.csv runs/model.json

This is step 4 of the course project. With PyTorch installed (gpu.Dockerfile) the fit runs on tensors, on the GPU
when CUDA is available, else on the CPU. Without PyTorch (the stand-in Dockerfile) it runs the same fit in plain
Python. Either way it says first what it found, so the log of a training job shows at once whether the GPU was used.
The lines go into model.json through forecast.line_model and forecast.save, the file that the project's API serves.
"""

import os
import statistics
import sys
from collections import defaultdict

from forecast import line_model, read_readings, save

STEPS = 500
LEARNING_RATE = 0.1


def scale(xs: list[float]) -> tuple[list[float], float, float]:
    """The day numbers centred and scaled to a standard deviation of 1, with the mean and deviation used.
    On the raw day numbers (0 to 29) a learning rate of 0.1 makes gradient descent diverge, and one small
    enough to be stable needs thousands of steps; on these it reaches the line within a hundred."""
    mean, sd = statistics.fmean(xs), statistics.pstdev(xs)
    return [(x - mean) / sd for x in xs], mean, sd


def fit_with_torch(torch, us: list[float], ys: list[float], device: str) -> tuple[float, float]:
    # float64: the same precision as the plain-Python fit, so both write the same model.json. GPUs work in
    # float32 by default, which is plenty for real models; a line of 30 points costs nothing either way.
    u = torch.tensor(us, dtype=torch.float64, device=device)
    y = torch.tensor(ys, dtype=torch.float64, device=device)
    w = torch.zeros(1, dtype=torch.float64, device=device, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, device=device, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=LEARNING_RATE)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = ((w * u + b - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return w.item(), b.item()


def fit_in_python(us: list[float], ys: list[float]) -> tuple[float, float]:
    w = b = 0.0
    n = len(us)
    for _ in range(STEPS):
        errors = [w * u + b - y for u, y in zip(us, ys)]
        w -= LEARNING_RATE * 2 * sum(e * u for e, u in zip(errors, us)) / n
        b -= LEARNING_RATE * 2 * sum(errors) / n
    return w, b


def main() -> None:
    source, target = (sys.argv[1:3] + ["readings.csv", "model.json"][len(sys.argv[1:3]):])
    print(f"NVIDIA_VISIBLE_DEVICES={os.environ.get('NVIDIA_VISIBLE_DEVICES', '(not set)')}")
    try:
        import torch
    except ImportError:
        print("CUDA available: False (PyTorch is not installed in this image)")
        torch, device = None, "cpu (plain Python)"
    else:
        cuda = torch.cuda.is_available()
        name = f" ({torch.cuda.get_device_name(0)})" if cuda else ""
        print(f"CUDA available: {cuda}{name}")
        device = "cuda" if cuda else "cpu"

    readings = read_readings(source)
    by_station = defaultdict(list)
    for station, day, temperature in readings:
        by_station[station].append((day, temperature))
    stations = {}
    for station, rows in sorted(by_station.items()):
        first = min(day for day, _ in rows)
        us, mean, sd = scale([(day - first).days for day, _ in rows])
        ys = [temperature for _, temperature in rows]
        w, b = fit_in_python(us, ys) if torch is None else fit_with_torch(torch, us, ys, device)
        # Back from the scaled days to °C per day since the first day: t = w * (x - mean) / sd + b.
        stations[station] = line_model(station, [day for day, _ in rows], w / sd, b - w * mean / sd)
    model = {"rows": len(readings), "stations": stations}
    save(model, target)

    print(f"trained on {device}: {STEPS} steps of gradient descent per station")
    for line in stations.values():
        print(f"{line['station']:8} {line['n']} days, {line['slope']:+.2f} °C a day")
    print(f"saved {target}: {model['rows']} readings from {len(stations)} stations")


if __name__ == "__main__":
    main()

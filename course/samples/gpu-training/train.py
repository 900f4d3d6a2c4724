"""Fit a straight line by gradient descent: the worked example of "Training on a GPU".

With PyTorch installed (gpu.Dockerfile) the fit runs on the GPU when CUDA is available, else on the CPU.
Without PyTorch (the stand-in Dockerfile) it runs the same fit in plain Python. Either way it says first
what it found, so the log of a training job shows at once whether the GPU was used.
"""

import os
import random

STEPS = 500
LEARNING_RATE = 0.1


def make_data(n: int = 256, seed: int = 0) -> tuple[list[float], list[float]]:
    """Points near the line y = 3x + 2."""
    rng = random.Random(seed)
    xs = [rng.uniform(-1, 1) for _ in range(n)]
    return xs, [3 * x + 2 + rng.gauss(0, 0.1) for x in xs]


def fit_with_torch(torch, xs, ys, device: str) -> tuple[float, float, float]:
    x = torch.tensor(xs, device=device)
    y = torch.tensor(ys, device=device)
    w = torch.zeros(1, device=device, requires_grad=True)
    b = torch.zeros(1, device=device, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=LEARNING_RATE)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return w.item(), b.item(), loss.item()


def fit_in_python(xs, ys) -> tuple[float, float, float]:
    w = b = 0.0
    n = len(xs)
    for _ in range(STEPS):
        errors = [w * x + b - y for x, y in zip(xs, ys)]
        w -= LEARNING_RATE * 2 * sum(e * x for e, x in zip(errors, xs)) / n
        b -= LEARNING_RATE * 2 * sum(errors) / n
    loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / n
    return w, b, loss


def main() -> None:
    print(f"NVIDIA_VISIBLE_DEVICES={os.environ.get('NVIDIA_VISIBLE_DEVICES', '(not set)')}")
    xs, ys = make_data()
    try:
        import torch
    except ImportError:
        print("CUDA available: False (PyTorch is not installed in this image)")
        w, b, loss = fit_in_python(xs, ys)
        device = "cpu (plain Python)"
    else:
        cuda = torch.cuda.is_available()
        name = f" ({torch.cuda.get_device_name(0)})" if cuda else ""
        print(f"CUDA available: {cuda}{name}")
        device = "cuda" if cuda else "cpu"
        w, b, loss = fit_with_torch(torch, xs, ys, device)
    print(f"trained on {device}: w={w:.2f} b={b:.2f} loss={loss:.4f}")


if __name__ == "__main__":
    main()

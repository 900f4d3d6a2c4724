# CUDA 12.8 runtime libraries on Ubuntu 24.04. Check the tag list before you copy this line:
# tags look like <CUDA version>-<flavour>-<OS>, and NVIDIA retires old ones.
FROM nvidia/cuda:12.8.1-runtime-ubuntu24.04

# The CUDA images already set NVIDIA_VISIBLE_DEVICES=all and NVIDIA_DRIVER_CAPABILITIES=compute,utility;
# they are repeated here so the image says what it needs even on another base.
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Ubuntu's own Python 3.12. Its pip refuses to install into the system Python (PEP 668), so the
# packages go into a virtual environment instead, which needs python3-venv. The apt packages are
# not pinned to a version: Ubuntu replaces old versions with security updates, so a pin breaks the
# build within weeks. The base image's tag fixes the Ubuntu release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# PyTorch built for CUDA 12.8, from PyTorch's own index for that CUDA version (cu128).
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cu128 torch==2.10.0 \
    && pip install --no-cache-dir numpy==2.4.6

# runs/ is where the model goes: the trainer's own, so the job can write there when nothing is mounted.
RUN useradd --create-home --uid 10001 --no-log-init trainer \
    && mkdir -p /app/runs \
    && chown trainer:trainer /app/runs
WORKDIR /app
COPY forecast.py train.py readings.csv ./
USER trainer

CMD ["python", "train.py", "readings.csv", "runs/model.json"]

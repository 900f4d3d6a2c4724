# Debian 13 stands in for Ubuntu 24.04 here: both mark their Python as externally managed (PEP 668).
FROM debian:trixie-slim

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-pip \
    && rm -rf /var/lib/apt/lists/*

# MISTAKE: pip into the system Python. Debian's and Ubuntu's pip refuse, and the build stops here.
RUN pip3 install --no-cache-dir numpy==2.4.6

RUN useradd --create-home --uid 10001 --no-log-init trainer
WORKDIR /app
COPY forecast.py train.py readings.csv ./
USER trainer

CMD ["python3", "train.py", "readings.csv", "runs/model.json"]

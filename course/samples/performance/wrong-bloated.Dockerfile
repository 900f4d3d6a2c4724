# Works, and answers exactly like the slim Dockerfile, at several times its size: the way a first Dockerfile
# for the forecast API often looks.
FROM python:3.13-slim

WORKDIR /app
# Everything in the folder, before the install: every edit reinstalls the packages.
COPY . .

# Compilers nothing needs, and curl for the health check, in separate layers.
RUN apt-get update
RUN apt-get install -y build-essential curl
# pip keeps its download cache in the layer.
RUN pip install -r requirements.txt
# Too late: the package lists are already stored in the layer of `apt-get update`.
RUN rm -rf /var/lib/apt/lists/*

# The user must own /app to write model.json at start-up.
RUN useradd --create-home --uid 10001 --no-log-init forecaster && chown -R forecaster /app
USER forecaster
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -f http://127.0.0.1:8000/health || exit 1
# Trains at every start, then serves: train.py and the readings ship in the image, and each new container
# waits for its own training before it answers.
CMD python train.py readings.csv model.json && gunicorn --bind 0.0.0.0:8000 --workers 2 app:app

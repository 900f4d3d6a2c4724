# Stage 1, "train": pandas and scikit-learn fit the model. Of this stage only model.json reaches the final image.
FROM python:3.13-slim AS train

# No .pyc files in the image, and log lines reach `docker logs` at once instead of sitting in a buffer.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /train

COPY requirements-train.txt .
# --no-compile: no .pyc files for these large packages, which makes their install much shorter.
RUN pip install --no-cache-dir --no-compile -r requirements-train.txt

# The model is made here, from the code and data in the build context, never copied from a laptop.
COPY forecast.py train_sklearn.py readings.csv ./
RUN python train_sklearn.py readings.csv model.json

# Stage 2: the image that serves. Flask and gunicorn, the app and the model; no pandas, no scikit-learn.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv

# Dependencies first: this layer is reused until requirements.txt changes.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The model from the train stage. It sits before app.py, so editing the app does not retrain.
COPY --from=train /train/model.json .
COPY forecast.py app.py ./

# An unprivileged user runs the service. Root still owns the files, so the app can read them, not change them.
RUN useradd --create-home --uid 10001 --no-log-init forecast
USER forecast

EXPOSE 8000
# Asks the real service for /health, with the Python that is already in the image (slim images have no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
# MISTAKE: 127.0.0.1 inside the container is the container itself; published traffic never reaches it.
CMD ["gunicorn", "--bind", "127.0.0.1:8000", "--workers", "2", "--access-logfile", "-", "app:app"]

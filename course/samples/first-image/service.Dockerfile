# --- Stage 1: build the virtual environment, with compilers at hand ----------------------------------
FROM python:3.13-slim AS builder

# Compilers live in this stage only. A package without a wheel for this platform compiles here;
# none of it reaches the final image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

# A virtual environment is one folder that holds every installed package: easy to copy to stage 2.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements-service.txt /tmp/
RUN pip install --no-cache-dir -r /tmp/requirements-service.txt

# --- Stage 2: the image that runs: Python, the environment, the code; no compilers --------------------
FROM python:3.13-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

# Create the user, then the folder, then hand the folder to the user: in that order.
RUN useradd --create-home --uid 10001 --no-log-init analyst \
    && mkdir /app \
    && chown analyst:analyst /app
WORKDIR /app

COPY --from=builder /opt/venv /opt/venv
COPY --chown=analyst:analyst summarize.py service.py ./

USER analyst

EXPOSE 8000
# Asks the running service over HTTP, with the Python that is in the image (slim images have no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --start-interval=1s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "service:app"]

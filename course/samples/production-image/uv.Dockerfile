# --- Stage 1: uv installs exactly what uv.lock lists, into /opt/venv --------------------------------
FROM python:3.13-slim AS builder

# uv itself, pinned like any other package. pip fetches it from PyPI; it stays in this stage.
RUN pip install --no-cache-dir uv==0.13.9

# Compile the packages' bytecode once, here; use the image's own Python, never download one; and put
# the project's environment in /opt/venv instead of .venv, as the pip images of this course do.
ENV UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv

WORKDIR /src
COPY pyproject.toml uv.lock ./
# --locked: stop if uv.lock no longer matches pyproject.toml, instead of quietly locking again.
# --no-dev: leave the dev group (pytest) out. --no-install-project: the dependencies only.
RUN uv sync --locked --no-dev --no-install-project --no-cache

# --- Stage 2: Python, the environment and the code; no uv --------------------------------------------
FROM python:3.13-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN useradd --create-home --uid 10001 --no-log-init analyst
WORKDIR /app

# The same path as in stage 1: the environment's `python` points at /usr/local/bin/python3.13, which
# both stages have because both start from the same image.
COPY --from=builder /opt/venv /opt/venv
COPY report.py .

USER 10001
CMD ["python", "report.py"]

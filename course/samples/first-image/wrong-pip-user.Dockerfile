# The outline's advanced Dockerfile with the chown fixed (the folder exists first). It still fails.
FROM python:3.13-slim
# Install system dependencies (no version pin: see the security lesson)
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends \
    build-essential \
    && rm -rf /var/lib/apt/lists/*

# Create non-root user
RUN useradd --create-home --shell /bin/bash app \
    && mkdir /app \
    && chown -R app:app /app
USER app

# Set environment variables
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONHASHSEED=random

WORKDIR /app

# Install Python packages
COPY requirements-service.txt .
RUN pip install --no-cache-dir --user -r requirements-service.txt
# A smoke test of the image: is the server's command there? It is not, so the build stops here.
# Without this line the build succeeds and `docker run` fails instead.
RUN gunicorn --version

# Copy source code
COPY --chown=app:app . .

# Health check
HEALTHCHECK --interval=30s --timeout=30s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import service; print('OK')"]

EXPOSE 8000

CMD ["gunicorn", "--bind", "0.0.0.0:8000", "service:app"]

# The outline's "Advanced Dockerfile for ML", moved to Python 3.13 and this folder's service. It does not build.
FROM python:3.13-slim
# Install system dependencies (no version pin: see the security lesson)
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends \
    build-essential \
    && rm -rf /var/lib/apt/lists/*

# Create non-root user
RUN useradd --create-home --shell /bin/bash app \
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

# Copy source code
COPY --chown=app:app . .

# Health check
HEALTHCHECK --interval=30s --timeout=30s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import service; print('OK')"]

EXPOSE 8000

CMD ["gunicorn", "--bind", "0.0.0.0:8000", "service:app"]

FROM python:3.13-slim

# No .pyc files in the image, and log lines reach `docker logs` at once instead of sitting in a buffer.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv

# Dependencies first: this layer is reused until requirements.txt changes.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# MISTAKE: copies a file that nothing made; the build context has no vocabulary.json to copy.
COPY vocabulary.json .

COPY app.py .

# An unprivileged user runs the service. Root still owns the files, so the app can read them, not change them.
RUN useradd --create-home --uid 10001 --no-log-init textstats
USER textstats

EXPOSE 9000
# Asks the real service for /health, with the Python that is already in the image (slim images have no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9000/health', timeout=2)"]
# gunicorn, a production WSGI server, listening on every interface of the container.
CMD ["gunicorn", "--bind", "0.0.0.0:9000", "--workers", "2", "--access-logfile", "-", "app:app"]

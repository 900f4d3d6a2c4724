FROM python:3.13-slim

# No .pyc files in the image, and log lines reach `docker logs` at once instead of sitting in a buffer.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv

# Dependencies first: this layer is reused until requirements.txt changes.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# An unprivileged user runs the service.
RUN useradd --create-home --uid 10001 --no-log-init textstats
USER textstats

# The build step makes vocabulary.json here, from files in the build context.
COPY build_vocabulary.py reference.txt ./
RUN python build_vocabulary.py

COPY app.py .

EXPOSE 9000
# Asks the real service for /health, with the Python that is already in the image (slim images have no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9000/health', timeout=2)"]
# gunicorn, a production WSGI server, listening on every interface of the container.
CMD ["gunicorn", "--bind", "0.0.0.0:9000", "--workers", "2", "--access-logfile", "-", "app:app"]

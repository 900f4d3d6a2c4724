# The station summary as a command-line tool: what you type after the image name goes to the script.
FROM python:3.13-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Metadata for people and tools: `docker image inspect` shows it.
LABEL org.opencontainers.image.title="station-summary-cli" \
      org.opencontainers.image.description="Summarise temperature readings per weather station"

WORKDIR /app
RUN useradd --create-home --uid 10001 --no-log-init analyst

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY summarize.py .

# The number, not the name: Kubernetes can then check that the user is not root.
USER 10001

# The program, in exec form: python itself is PID 1, not a shell, so docker stop's signal reaches it.
ENTRYPOINT ["python", "summarize.py"]
# No CMD (ENTRYPOINT clears the base image's): with no arguments the script uses its own seeded data.

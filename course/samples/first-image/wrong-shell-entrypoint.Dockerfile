# The station summary as a command-line tool: what you type after the image name should go to the script.
FROM python:3.13-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 --no-log-init analyst

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY summarize.py .

USER 10001

ENTRYPOINT python summarize.py

FROM python:3.13-slim

# Log lines reach `docker logs` at once instead of waiting in Python's output buffer.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CHECKPOINT_DIR=/data \
    EPOCHS=10

WORKDIR /app
# The job, the project's model core and its readings.
COPY forecast.py readings.csv train.py ./

# An unprivileged user, and a /data folder it owns.
RUN useradd --create-home --uid 10001 --no-log-init trainer \
    && mkdir /data \
    && chown trainer:trainer /data
USER trainer

CMD python train.py

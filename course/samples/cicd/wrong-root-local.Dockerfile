# Stage 1, "builder": installs the dependencies and trains the model. Whatever the install and the training
# need and leave behind (pip's work files, the readings, compilers if you add them) stays in this stage.
FROM python:3.13-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt .
RUN pip install --no-cache-dir --user -r requirements.txt
COPY forecast.py train.py readings.csv ./
RUN python train.py readings.csv model.json

# Stage 2, "runtime": the image that ships, on the same base image as the builder.
FROM python:3.13-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/root/.local/bin:$PATH"

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app

# Only the installed packages and the trained model cross over from the builder, owned by root: the app can use
# them, not change them.
COPY --from=builder /root/.local /root/.local
WORKDIR /srv
COPY --from=builder /build/model.json .
COPY forecast.py app.py ./

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--no-control-socket", "--access-logfile", "-", "app:app"]

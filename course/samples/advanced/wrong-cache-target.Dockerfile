# Stage 1, "trainer": runs on the machine that builds ($BUILDPLATFORM), at native speed, whatever
# platform the image is for. Its result, model.json, is the same on every platform, so in a
# multi-platform build it runs once and every platform's image gets a copy. train.py uses the standard
# library only, so the stage needs no packages.
FROM --platform=$BUILDPLATFORM python:3.13-slim AS trainer
WORKDIR /work
COPY forecast.py train.py readings.csv ./
RUN python train.py readings.csv model.json

# Stage 2, "runtime": no --platform, so it is built for the target platform, as every stage is by default.
FROM python:3.13-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Official Debian images delete every downloaded package after an install; keep them, for the cache mount.
RUN rm -f /etc/apt/apt.conf.d/docker-clean \
    && echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache

# apt's package lists and downloads live in cache mounts: kept between builds, never in the image.
# No version pin: the base image fixes the Debian release (see "Pin apt packages?" in Security).
# hadolint ignore=DL3008
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt,sharing=locked \
    apt-get update \
    && apt-get install -y --no-install-recommends libgomp1

WORKDIR /srv
COPY requirements.txt .
# pip's cache is a cache mount too, next to apt's.
RUN --mount=type=cache,target=/var/cache/pip \
    pip install -r requirements.txt

COPY --from=trainer /work/model.json .
COPY forecast.py app.py ./

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
USER 10001:10001

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--no-control-socket", "--access-logfile", "-", "app:app"]

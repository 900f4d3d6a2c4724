# Byte-exact rebuilds of the apt part: apt reads the Debian archive as it was at one moment, from
# snapshot.debian.org, where no version is ever removed. Pin the base image by digest as well (see the lesson).
FROM debian:trixie-slim

# The moment to read the archive at: change it on purpose, like a digest.
ARG SNAPSHOT=20251101T000000Z

# The snapshot replaces the image's own sources (debian.sources). Its Release files carry a "Valid-Until"
# date long past, so check-valid-until=no tells apt to accept them. The date pins every version, so the
# package names need no "=version" (hadolint's DL3008 does not know that).
# hadolint ignore=DL3008
RUN rm -f /etc/apt/sources.list.d/debian.sources \
    && echo "deb [check-valid-until=no] http://snapshot.debian.org/archive/debian/${SNAPSHOT}/ trixie main" \
        > /etc/apt/sources.list.d/snapshot.list \
    && echo "deb [check-valid-until=no] http://snapshot.debian.org/archive/debian-security/${SNAPSHOT}/ trixie-security main" \
        >> /etc/apt/sources.list.d/snapshot.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
USER 10001
CMD ["tini", "--version"]

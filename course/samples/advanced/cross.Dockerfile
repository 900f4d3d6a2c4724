# Cross-compiling with tonistiigi/xx: the compiler runs natively on the build machine and
# writes a binary for the target platform, so no emulation is needed for the slow step.
FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.6.1 AS xx

FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS build
# The xx-* helper scripts. The xx image holds nothing but those scripts, so copying its root is safe here.
# hadolint ignore=DL3067
COPY --from=xx / /
# clang and the lld linker run on the build machine: install them for the build platform. The package
# lists stay, for xx-apt-get below; this stage is thrown away, so they never reach the final image.
# No version pins: they break the build once Debian replaces a version (see "Pin apt packages?" in Security).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang lld
ARG TARGETPLATFORM
# The C library and libgcc are for the target platform: xx-apt-get installs the target's packages
# (xx-c-essentials is xx's short name for libc6-dev plus the matching libgcc development files).
RUN xx-apt-get install -y --no-install-recommends xx-c-essentials
WORKDIR /src
COPY hello.c .
# xx-verify checks that the binary really is for TARGETPLATFORM.
RUN mkdir -p /out \
    && xx-clang -O2 -o /out/hello hello.c \
    && xx-verify /out/hello

# The final stage has no --platform: it is the target platform's Debian, with the cross-compiled binary.
FROM debian:bookworm-slim
COPY --from=build /out/hello /usr/local/bin/hello
RUN useradd --system --uid 10001 --no-create-home hello
USER 10001
CMD ["hello"]

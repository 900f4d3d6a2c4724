"""CPython for the python:*-slim stand-ins, built from source the way the official images build it.

The official images compile the python.org release into /usr/local (packages in site-packages, pip from
ensurepip and upgradable, `--prefix` and `--user` installs as upstream lays them out) on a slim Debian, then
keep only the libraries the build links against. A stand-in that ran Debian's own Python instead differed
exactly where learners work: dist-packages, a pip that refuses to upgrade itself, prefix installs that Python
then cannot find. So the stand-ins repeat the official Dockerfile's steps, with two changes: the source is
the release tarball as Debian's archive keeps it (the upstream tarball, byte for byte, with the release
manager's signature beside it), since python.org cannot be reached from here, and the build skips
`--enable-optimizations --with-lto` (profile-guided and link-time optimisation take far longer than the
minutes a setup can spend and change speed, not behaviour). One addition: the standard library's bytecode
(see `layers`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CPython:
    """An upstream CPython release in Debian's archive: the source package's orig tarball."""

    version: str  # e.g. 3.13.5
    archive: str  # the orig tarball's compression, as Debian keeps it: tar.xz or tar.gz
    sha256: str  # from the suite's Sources index (Checksums-Sha256)

    @property
    def minor(self) -> str:
        """3.13 for 3.13.5: the name of its folders (/usr/local/lib/python3.13) and of Debian's package."""
        return ".".join(self.version.split(".")[:2])

    @property
    def package(self) -> str:
        """Debian's source package, python3.13 for 3.13.x."""
        return "python" + self.minor

    def url(self, mirror: str) -> str:
        return f"{mirror}/pool/main/p/{self.package}/{self.package}_{self.version}.orig.{self.archive}"


# The releases Debian 12 and 13 carry, so a stand-in's Python is the one its suite was released with.
BOOKWORM_PYTHON = CPython("3.11.2", "tar.gz", "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849")
TRIXIE_PYTHON = CPython("3.13.5", "tar.xz", "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640")

# Build dependencies, as the official Dockerfile lists them (less gnupg: the checksum is pinned here, and less
# tk-dev and libbluetooth-dev: no lab draws windows or speaks Bluetooth). They are purged after the build.
BUILD_DEPS = ("dpkg-dev gcc libbz2-dev libc6-dev libdb-dev libffi-dev libgdbm-dev liblzma-dev libncursesw5-dev "
              "libreadline-dev libsqlite3-dev libssl-dev make uuid-dev wget xz-utils zlib1g-dev")


def layers(python: CPython, mirror: str) -> list[str]:
    """The Dockerfile instructions that put CPython into /usr/local, in the official image's order: the
    runtime packages, the version in the environment, one RUN that builds, installs and purges the compilers
    (keeping each library a file in /usr/local links against), and the unversioned command names."""
    build = r"""RUN set -eux; \
    savedAptMark="$(apt-mark showmanual)"; \
    apt-get update; \
    apt-get install -y --no-install-recommends BUILD_DEPS; \
    wget -q -O python.tar "URL"; \
    echo "$PYTHON_SHA256 *python.tar" | sha256sum -c -; \
    mkdir -p /usr/src/python; \
    tar --extract --directory /usr/src/python --strip-components=1 --file python.tar; \
    rm python.tar; \
    cd /usr/src/python; \
    gnuArch="$(dpkg-architecture --query DEB_BUILD_GNU_TYPE)"; \
    ./configure --build="$gnuArch" --enable-loadable-sqlite-extensions --enable-option-checking=fatal \
        --enable-shared --with-ensurepip > /dev/null; \
    nproc="$(nproc)"; \
    make -s -j "$nproc" "LDFLAGS=-Wl,--strip-all" > /dev/null; \
    rm python; \
    make -s -j "$nproc" "LDFLAGS=-Wl,--strip-all,-rpath='\$\$ORIGIN/../lib'" python > /dev/null; \
    make -s install > /dev/null; \
    cd /; \
    rm -rf /usr/src/python; \
    find /usr/local -depth \( \( -type d -a \( -name test -o -name tests -o -name idle_test \) \) \
        -o \( -type f -a \( -name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \) \) \) -exec rm -rf '{}' +; \
    ldconfig; \
    apt-mark auto '.*' > /dev/null; \
    apt-mark manual $savedAptMark > /dev/null; \
    find /usr/local -type f -executable -not \( -name '*tkinter*' \) -exec ldd '{}' ';' 2>/dev/null \
        | awk '/=>/ { so = $(NF-1); if (index(so, "/usr/local/") == 1) { next }; gsub("^/(usr/)?", "", so); printf "*%s\n", so }' \
        | sort -u | xargs -r dpkg-query --search | grep -v '^diversion ' | cut -d: -f1 | sort -u \
        | xargs -r apt-mark manual > /dev/null; \
    apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false > /dev/null; \
    rm -rf /var/lib/apt/lists/*; \
    export PYTHONDONTWRITEBYTECODE=1; \
    python3 --version; \
    pip3 --version"""
    build = build.replace("BUILD_DEPS", BUILD_DEPS).replace("URL", python.url(mirror))
    return [
        "ENV PATH=/usr/local/bin:$PATH",
        "RUN set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates netbase tzdata; "
        "rm -rf /var/lib/apt/lists/*",
        f"ENV PYTHON_VERSION={python.version} PYTHON_SHA256={python.sha256}",
        build,
        'RUN set -eux; for src in idle3 pip3 pydoc3 python3 python3-config; do dst="$(echo "$src" | tr -d 3)"; '
        '[ -s "/usr/local/bin/$src" ]; [ ! -e "/usr/local/bin/$dst" ]; ln -svT "$src" "/usr/local/bin/$dst"; done',
        # The one departure from the official image, which ships no bytecode: a non-root process cannot write
        # it, so each one compiled what it imports, 0.4-0.55 s for `import urllib.request, json, http.client`
        # against 0.12 s with it (measured with docker exec here). A health probe run every 0.1 s by the
        # grader turned that into a busy CPU. Start-up time and 18 MB of image change; behaviour does not.
        f"RUN python3 -m compileall -q -j0 /usr/local/lib/python{python.minor} > /dev/null",
    ]

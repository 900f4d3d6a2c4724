"""A caching proxy for what learners' builds download: a class of 120 installs scikit-learn once, not 120 times.

Builds reach it through Docker's predefined proxy build arguments (HTTP_PROXY, HTTPS_PROXY), which a RUN step
sees without any ARG line and which no image records, so a learner's Dockerfile needs no change and their image
keeps no trace of it. Plain HTTP (Debian's apt archive) is cached as it passes. HTTPS is a tunnel (CONNECT) that
a proxy cannot read, so for the package indexes in MITM_HOSTS the proxy ends the tunnel itself, with a
certificate for that host from its own authority (certs.py); only images that trust that authority may be sent
here, and every other host is tunnelled untouched.

What is kept: files that never change once published (wheels, sdists, .deb packages), for good; index pages
(PyPI's /simple/, apt's Release and Packages files) for `index_ttl_s`, so a new release is seen within minutes.
Everything else passes through. A cached answer is keyed by its URL and the Accept header (PyPI answers the
same URL in HTML or JSON).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import ipaddress
import itertools
import json
import logging
import re
import select
import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from io import BufferedIOBase, BytesIO
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from graders.package_cache.certs import Authority

log = logging.getLogger("graders")

MITM_HOSTS = frozenset({"pypi.org", "files.pythonhosted.org"})
IMMUTABLE = re.compile(r"\.(?:whl|tar\.gz|tgz|zip|tar\.bz2|deb|udeb)(?:\.metadata)?$")
INDEX = re.compile(r"^/simple/|/(?:InRelease|Release|Release\.gpg)$|/Packages(?:\.\w+)?$|/by-hash/")
HOP_BY_HOP = frozenset({"connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
                        "te", "trailer", "transfer-encoding", "upgrade", "accept-encoding", "host"})
KEPT_HEADERS = ("content-type", "etag", "last-modified", "content-encoding")
UPSTREAM_TIMEOUT_S = 60.0
STATS_PATH = "/_mastery/stats"
Stream = IO[bytes] | BufferedIOBase  # a connection's reading or writing side, plain or TLS


@dataclass
class Stats:
    """What the cache did since it started: answers from the cache, from upstream, and tunnels."""

    hits: int = 0
    misses: int = 0
    upstream_bytes: int = 0
    served_bytes: int = 0
    tunnels: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {"hits": self.hits, "misses": self.misses, "upstream_bytes": self.upstream_bytes,
                    "served_bytes": self.served_bytes, "tunnels": self.tunnels}


def lifetime_s(url: str, index_ttl_s: float) -> float | None:
    """How long an answer for `url` may be kept: None for never."""
    path = urlsplit(url).path
    if IMMUTABLE.search(path):
        return float("inf")
    if INDEX.search(path):
        return index_ttl_s
    return None


@dataclass(frozen=True)
class Head:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key.lower() == name), "")

    @property
    def keep_alive(self) -> bool:
        connection = self.header("connection").lower() or self.header("proxy-connection").lower()
        return connection != "close" and (self.version == "HTTP/1.1" or connection == "keep-alive")


def read_head(rfile: Stream) -> Head | None:
    """A request's line and headers; None at the end of the connection."""
    line = rfile.readline(65537)
    while line in (b"\r\n", b"\n"):
        line = rfile.readline(65537)
    if not line:
        return None
    parts = line.decode("latin-1").strip().split(" ")
    if len(parts) != 3:
        raise ValueError(f"not an HTTP request line: {line[:80]!r}")
    headers = []
    while True:
        raw = rfile.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return Head(parts[0], parts[1], parts[2], headers)


class Refused(Exception):
    """A destination the cache will not fetch from: this machine, or an address no package index has."""


def outside_address(host: str) -> str:
    """The address `host` resolves to, when it is one a package index may have. A build reaches the cache on an
    address of this machine; without this, it could ask the cache for this machine's loopback services or the
    cloud metadata address, which the build itself cannot reach."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in addresses:
        if (address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast
                or address.is_reserved or str(address) in local_addresses()):
            raise Refused(f"The package cache does not fetch from {host} ({address}): it is this machine or an "
                          "address no package index has.")
    return str(addresses[0])


def local_addresses() -> frozenset[str]:
    """Every IPv4 address assigned to this machine: those /proc/net/fib_trie marks "/32 host LOCAL"."""
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
    except OSError:
        return frozenset()
    return frozenset(before.split()[-1] for before, line in itertools.pairwise(lines)
                     if "/32 host LOCAL" in line)


class PackageCache(socketserver.ThreadingTCPServer):
    """The proxy: `start()` serves in a thread until `stop()`; `address` is where builds reach it."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64  # builds side by side (a cohort, the test workers) open many connections at once

    def __init__(self, folder: Path, listen: tuple[str, int] = ("127.0.0.1", 0), index_ttl_s: float = 600.0,
                 upstream: ssl.SSLContext | None = None) -> None:
        super().__init__(listen, _Handler)
        self.folder = folder
        self.objects = folder / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.authority = Authority(folder / "authority")
        self.index_ttl_s = index_ttl_s
        self.upstream = upstream or ssl.create_default_context()
        self.stats = Stats()
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)

    def start(self) -> PackageCache:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="package-cache", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def handle_error(self, request: object, client_address: object) -> None:
        """A connection that failed ends quietly: the grading process's output is the learner's, never a
        traceback of the cache's."""
        log.debug("package cache: a connection from %s failed", client_address, exc_info=True)

    def tls_for(self, host: str) -> ssl.SSLContext:
        """The server side of a tunnel this proxy ends, presenting the authority's certificate for `host`."""
        if host not in self._contexts:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.authority.for_host(host))
            self._contexts[host] = context
        return self._contexts[host]

    # --- the cache -----------------------------------------------------------------------------------------

    def _paths(self, url: str, accept: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(f"{url}\n{accept}".encode()).hexdigest()
        folder = self.objects / digest[:2]
        return folder / f"{digest}.body", folder / f"{digest}.json"

    def cached(self, url: str, accept: str) -> tuple[dict[str, object], Path] | None:
        lifetime = lifetime_s(url, self.index_ttl_s)
        if lifetime is None:
            return None
        body, meta = self._paths(url, accept)
        try:
            info = json.loads(meta.read_text())
        except (OSError, ValueError):
            return None
        if time.time() - float(info.get("stored", 0)) > lifetime or not body.is_file():
            return None
        return info, body

    def store(self, url: str, accept: str, info: dict[str, object], body: Path) -> None:
        path, meta = self._paths(url, accept)
        path.parent.mkdir(parents=True, exist_ok=True)
        body.replace(path)  # the body first: a meta file never points at half a body
        tmp = meta.with_name(meta.name + ".tmp")
        tmp.write_text(json.dumps({**info, "stored": time.time(), "url": url}))
        tmp.replace(meta)


class _Handler(socketserver.StreamRequestHandler):
    server: PackageCache
    timeout = 300  # an idle keep-alive connection is closed after this long

    def handle(self) -> None:
        with contextlib.suppress(OSError, ValueError, ssl.SSLError):
            head = read_head(self.rfile)
            if head is None:
                return
            if head.method == "CONNECT":
                self._connect(head)
            elif head.target == STATS_PATH:
                _respond(self.wfile, 200, "OK", [("Content-Type", "application/json")],
                         json.dumps(self.server.stats.as_dict()).encode())
            elif head.target.startswith("http://"):
                self._serve(self.rfile, self.wfile, "", head)
            else:
                _respond(self.wfile, 400, "Bad Request", [], b"This is a proxy: ask for an absolute http:// URL.\n")

    def _connect(self, head: Head) -> None:
        host, _, port = head.target.rpartition(":")
        if host in MITM_HOSTS and port == "443":
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            tls = self.server.tls_for(host).wrap_socket(self.connection, server_side=True)
            with tls, tls.makefile("rb") as rfile, tls.makefile("wb") as wfile:
                self._serve(rfile, wfile, f"https://{host}", read_head(rfile))
            return
        try:
            address = outside_address(host.strip("[]"))
            upstream = socket.create_connection((address, int(port)), timeout=UPSTREAM_TIMEOUT_S)
        except Refused as exc:
            _respond(self.wfile, 403, "Forbidden", [], f"{exc}\n".encode())
            return
        except (OSError, ValueError) as exc:
            _respond(self.wfile, 502, "Bad Gateway", [], f"Could not reach {head.target}: {exc}\n".encode())
            return
        self.server.stats.add(tunnels=1)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        with upstream:
            _relay(self.connection, upstream)

    def _serve(self, rfile: Stream, wfile: Stream, origin: str, head: Head | None) -> None:
        """Answer requests on one connection until it ends: `origin` for a tunnel this proxy ended, else each
        request names its absolute URL."""
        while head is not None:
            url = origin + head.target if origin else head.target
            length = int(head.header("content-length") or 0)
            body = rfile.read(length) if length else b""
            self._answer(wfile, head, url, body)
            if not head.keep_alive:
                return
            head = read_head(rfile)

    def _answer(self, wfile: Stream, head: Head, url: str, body: bytes) -> None:
        accept = head.header("accept")
        usable = head.method == "GET" and not head.header("range")
        hit = self.server.cached(url, accept) if usable else None
        if hit is not None:
            info, path = hit
            self.server.stats.add(hits=1, served_bytes=path.stat().st_size)
            with path.open("rb") as stored:
                _respond(wfile, int(str(info["status"])), str(info["reason"]),
                         [(str(k), str(v)) for k, v in info["headers"]], stored)  # type: ignore[attr-defined]
            return
        parts = urlsplit(url)
        try:
            outside_address(parts.hostname or "")
        except (Refused, OSError) as exc:
            _respond(wfile, 403, "Forbidden", [("Content-Type", "text/plain")], f"{exc}\n".encode())
            return
        self.server.stats.add(misses=1)
        connection: http.client.HTTPConnection = (
            http.client.HTTPSConnection(parts.netloc, timeout=UPSTREAM_TIMEOUT_S, context=self.server.upstream)
            if parts.scheme == "https" else http.client.HTTPConnection(parts.netloc, timeout=UPSTREAM_TIMEOUT_S))
        headers = {k: v for k, v in head.headers if k.lower() not in HOP_BY_HOP and not k.lower().startswith("proxy-")}
        target = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
        answering = False
        try:
            connection.request(head.method, target, body=body or None, headers=headers)
            answer = connection.getresponse()
            kept = [(k, v) for k, v in answer.getheaders() if k.lower() in KEPT_HEADERS]
            length = answer.getheader("content-length") or ""
            streams = head.method != "HEAD" and length.isdigit()
            if streams:
                # Passed on as it arrives: a build's pip waits 15 s for its next byte, a large wheel takes longer.
                _write_head(wfile, answer.status, answer.reason, kept, int(length))
                answering = True
            with tempfile.NamedTemporaryFile(dir=self.server.objects, delete=False) as tmp:
                spooled = Path(tmp.name)
                try:
                    size = _copy(answer, tmp, also=wfile if streams else None)
                except BaseException:
                    spooled.unlink(missing_ok=True)
                    raise
            self.server.stats.add(upstream_bytes=size, served_bytes=size)
            try:
                if streams:
                    wfile.flush()
                else:
                    with spooled.open("rb") as spool:
                        _respond(wfile, answer.status, answer.reason, kept, spool, head_only=head.method == "HEAD")
                whole = not streams or size == int(length)
                if whole and usable and answer.status == 200 and lifetime_s(url, self.server.index_ttl_s) is not None:
                    self.server.store(url, accept, {"status": 200, "reason": answer.reason, "headers": kept}, spooled)
            finally:
                spooled.unlink(missing_ok=True)
        except (OSError, http.client.HTTPException) as exc:
            log.info("package cache: %s %s failed upstream: %r", head.method, url, exc)
            if answering:
                raise OSError(f"upstream broke off {url}") from exc  # the client sees its answer end short
            _respond(wfile, 502, "Bad Gateway", [("Content-Type", "text/plain")],
                     f"The package cache could not fetch {url}: {exc}\n".encode())
        finally:
            connection.close()


def _copy(source: http.client.HTTPResponse, target: IO[bytes], also: Stream | None = None) -> int:
    size = 0
    while chunk := source.read(1 << 16):
        target.write(chunk)
        if also is not None:
            also.write(chunk)
        size += len(chunk)
    return size


def _respond(wfile: Stream, status: int, reason: str, headers: list[tuple[str, str]], body: bytes | IO[bytes],
             head_only: bool = False) -> None:
    """One whole answer with its length (never chunked), so the client may send its next request."""
    stream = BytesIO(body) if isinstance(body, bytes) else body
    start = stream.tell()
    length = stream.seek(0, 2) - start
    stream.seek(start)
    _write_head(wfile, status, reason, headers, length)
    if not head_only:
        shutil.copyfileobj(stream, wfile, 1 << 16)
    wfile.flush()


def _write_head(wfile: Stream, status: int, reason: str, headers: list[tuple[str, str]], length: int) -> None:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers), f"Content-Length: {length}", "", ""]
    wfile.write("\r\n".join(lines).encode("latin-1"))


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Pass bytes both ways until either side closes: a tunnel the proxy does not read."""
    sockets = [a, b]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 300)
        if broken or not readable:
            return
        for source in readable:
            data = source.recv(1 << 16)
            if not data:
                return
            (b if source is a else a).sendall(data)

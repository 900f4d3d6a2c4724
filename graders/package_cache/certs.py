"""The package cache's own certificate authority, and a certificate per host it caches for.

pip reaches PyPI over HTTPS, so a cache between a build and PyPI must answer as pypi.org itself: it presents a
certificate for that host signed by this authority, which only the images that carry it trust (the course's
offline images, graders/images.py). The authority is made once per machine, kept in the cache's folder (mode
0600 for the key) and never leaves it; nothing of it is committed.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "Docker Mastery package cache"
VALID = datetime.timedelta(days=825)  # the longest validity clients accept for a server certificate


def _write(path: Path, data: bytes, private: bool = False) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.fchmod(fd, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Held while a key and its certificate are written: processes grading side by side (test workers, a
    cohort) must never pair one's key with another's certificate."""
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Authority:
    """The authority in `folder` (made on first use), and the host certificates it signed there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder):
            if not (self.cert_path.is_file() and self.key_path.is_file()):
                self._make_authority()
        self._key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        self._cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())

    @property
    def cert_path(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def key_path(self) -> Path:
        return self.folder / "ca.key"

    def _make_authority(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, encipher_only=False, decipher_only=False),
                               critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        _write(self.key_path, _pem_key(key), private=True)
        _write(self.cert_path, cert.public_bytes(serialization.Encoding.PEM))

    def for_host(self, host: str) -> tuple[Path, Path]:
        """The certificate and key files for `host`, signed by this authority (made once, then reused)."""
        safe = "".join(c for c in host.lower() if c.isalnum() or c in ".-")
        cert_path, key_path = self.folder / f"host-{safe}.pem", self.folder / f"host-{safe}.key"
        with self._lock, _locked(self.folder):
            if cert_path.is_file() and key_path.is_file():
                return cert_path, key_path
            key = ec.generate_private_key(ec.SECP256R1())
            now = datetime.datetime.now(datetime.UTC)
            assert isinstance(self._key, ec.EllipticCurvePrivateKey)
            cert = (x509.CertificateBuilder()
                    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, safe)]))
                    .issuer_name(self._cert.subject).public_key(key.public_key())
                    .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                    .not_valid_after(now + VALID)
                    .add_extension(x509.SubjectAlternativeName([x509.DNSName(safe)]), critical=False)
                    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                    .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                                   critical=False)
                    .sign(self._key, hashes.SHA256()))
            _write(key_path, _pem_key(key), private=True)
            _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
            return cert_path, key_path

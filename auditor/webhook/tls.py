"""TLS for the webhook: the server context, certificate reloading, development certificates.

The API server only talks to webhooks over HTTPS and verifies the serving certificate
against the ``caBundle`` of the webhook configuration. In a cluster the certificate comes
from a Secret (cert-manager or your own PKI) mounted as files; :class:`CertificateReloader`
notices when they change and swaps the certificate in without a restart. ``--self-signed``
generates a throwaway CA and serving certificate for development (:func:`self_signed`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Only forward-secret AEAD suites for TLS 1.2 (TLS 1.3 suites are always AEAD).
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


class TLSError(Exception):
    """Certificate or key files that cannot be used (one line, no key material)."""


def server_context(cert_file: Path, key_file: Path, min_version: str = "1.2") -> ssl.SSLContext:
    """A server-side context: TLS 1.2 or newer, strong suites, HTTP/1.1 by ALPN."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3 if min_version == "1.3" else ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_alpn_protocols(["http/1.1"])
    _load_pair(context, cert_file, key_file)
    return context


def _load_pair(context: ssl.SSLContext, cert_file: Path, key_file: Path) -> None:
    for path in (cert_file, key_file):
        if not Path(path).is_file():
            raise TLSError(f"{path}: no such file")
    try:
        context.load_cert_chain(str(cert_file), str(key_file))
    except FileNotFoundError as error:
        raise TLSError(f"{error.filename}: no such file") from None
    except ssl.SSLError as error:
        raise TLSError(
            f"{cert_file}, {key_file}: not a usable certificate and key pair ({error.reason or error})"
        ) from None
    except OSError as error:
        raise TLSError(f"{cert_file}, {key_file}: {error.strerror or error}") from None


def certificate_not_after(pem: bytes) -> dt.datetime | None:
    """notAfter of the first certificate of a PEM chain (None when unreadable)."""
    try:
        return x509.load_pem_x509_certificate(pem).not_valid_after_utc
    except ValueError:
        return None


@dataclass
class Snapshot:
    digest: str
    not_after: dt.datetime | None


class CertificateReloader:
    """Watch a certificate and key pair and load a changed pair into a live context.

    :meth:`check` reads both files, and when their content changed, loads the new pair
    into a fresh context first: a half-rotated pair (a new certificate next to the old
    key, as a non-atomic copy leaves for a moment) is rejected there and retried at the
    next check, while the server keeps the pair it has. The validated bytes are then
    loaded into the live context from a private copy, so the files changing again in
    between cannot leave the live context with a mismatched pair. Call it from the event
    loop's thread: handshakes run there, so none happens during the swap; connections
    already open keep their certificate, new ones get the new one.
    """

    def __init__(self, context: ssl.SSLContext, cert_file: Path, key_file: Path, min_version: str = "1.2") -> None:
        self.context = context
        self.cert_file = cert_file
        self.key_file = key_file
        self.min_version = min_version
        self.current = self._snapshot(*self._read())

    def _read(self) -> tuple[bytes, bytes]:
        try:
            return self.cert_file.read_bytes(), self.key_file.read_bytes()
        except OSError as error:
            raise TLSError(f"{error.filename}: {error.strerror or error}") from None

    @staticmethod
    def _snapshot(cert: bytes, key: bytes) -> Snapshot:
        digest = hashlib.sha256(cert + b"\0" + key).hexdigest()
        return Snapshot(digest, certificate_not_after(cert))

    def check(self) -> bool:
        """Reload when the files changed; True when a new pair is now served.

        Raises :class:`TLSError` when the files changed into something unusable (the old
        pair stays in use)."""
        cert, key = self._read()
        snapshot = self._snapshot(cert, key)
        if snapshot.digest == self.current.digest:
            return False
        with tempfile.TemporaryDirectory(prefix="kube-auditor-tls-") as private:
            cert_copy, key_copy = Path(private) / "tls.crt", Path(private) / "tls.key"
            cert_copy.write_bytes(cert)
            fd = os.open(key_copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
            _load_pair(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), cert_copy, key_copy)  # validate
            _load_pair(self.context, cert_copy, key_copy)
        self.current = snapshot
        return True


# ---------------------------------------------------------------------------------------
# Development certificates


@dataclass(frozen=True)
class SelfSigned:
    ca_pem: bytes
    cert_file: Path
    key_file: Path
    ca_file: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def self_signed(
    directory: Path,
    dns_names: list[str],
    ip_addresses: list[str] = ("127.0.0.1",),  # type: ignore[assignment]
    days: int = 365,
) -> SelfSigned:
    """Write a fresh CA (``ca.crt``) and a serving certificate it signs (``tls.crt``,
    ``tls.key``, mode 0600) into ``directory``. ECDSA P-256; for development only."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-auditor webhook development CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0] if dns_names else "kube-auditor-webhook")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_encipherment=False, key_cert_sign=False, crl_sign=False,
                content_commitment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ca_file, cert_file, key_file = directory / "ca.crt", directory / "tls.crt", directory / "tls.key"
    ca_file.write_bytes(ca_pem)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(_key_pem(key))
    return SelfSigned(ca_pem, cert_file, key_file, ca_file)

"""TLS for the sandbox: a throwaway CA and a server certificate for 127.0.0.1/localhost.

azure-identity (via MSAL) refuses plain-http authorities, so the Microsoft half of the sandbox
is served over real TLS. The CA is generated per sandbox run and written to a temp directory;
clients trust it explicitly (``ca_cert_path``) and only in sandbox mode, never system-wide.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_KEY_SIZE = 2048
_VALIDITY = dt.timedelta(days=30)


@dataclass(frozen=True)
class SandboxTLS:
    """PEM files of one sandbox run plus the server-side context werkzeug needs."""

    directory: Path
    ca_cert_path: Path
    server_cert_path: Path
    server_key_path: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSLContext for ``werkzeug.serving.make_server(..., ssl_context=...)``."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert_path, self.server_key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """An SSLContext that trusts only the sandbox CA (for httpx clients)."""
        return ssl.create_default_context(cafile=str(self.ca_cert_path))


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "integrator sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca(now: dt.datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _new_key()
    name = _name("integrator sandbox CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server(
    now: dt.datetime, ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _new_key()
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
            x509.IPAddress(ipaddress.IPv6Address("::1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def generate_tls(directory: Path | None = None) -> SandboxTLS:
    """Create a CA and a 127.0.0.1/localhost server certificate; write PEMs to ``directory``.

    Certificates are dated by the wall clock, not the sandbox clock: TLS validity is checked by
    the client's OS time, which a test advancing the sandbox clock does not change.
    """
    target = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="integrator-sandbox-tls-"))
    now = dt.datetime.now(dt.UTC)
    ca_key, ca_cert = _ca(now)
    server_key, server_cert = _server(now, ca_key, ca_cert)
    tls = SandboxTLS(
        directory=target,
        ca_cert_path=target / "ca.pem",
        server_cert_path=target / "server.pem",
        server_key_path=target / "server-key.pem",
    )
    tls.ca_cert_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # The chain includes the CA so clients that only trust the CA can build the path.
    tls.server_cert_path.write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    tls.server_key_path.write_bytes(_key_pem(server_key))
    tls.server_key_path.chmod(0o600)
    return tls


def self_signed_app_certificate(common_name: str = "integrator app") -> tuple[bytes, bytes]:
    """A self-signed certificate for an Entra app credential: (certificate PEM, private key PEM).

    Register the certificate with ``sb.graph.register_app(certificate_pem=...)`` and give
    ``CertificateCredential`` the concatenation ``key_pem + cert_pem`` as ``certificate_data``.
    """
    now = dt.datetime.now(dt.UTC)
    key = _new_key()
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

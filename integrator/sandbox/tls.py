"""TLS for the sandbox: a throwaway CA and a server certificate for 127.0.0.1/localhost.

azure-identity (via MSAL) refuses plain-http authorities, so the Microsoft half of the sandbox
is served over real TLS. The CA is made by ``trustme`` per sandbox run and its certificate is
written to a temp directory; clients trust it explicitly (``ca_cert_path``) and only in sandbox
mode, never system-wide.
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme

_ORGANIZATION = "integrator sandbox"
#: What the server certificate is valid for (its subjectAltNames).
_SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


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


def generate_tls(directory: Path | None = None) -> SandboxTLS:
    """Create a CA and a 127.0.0.1/localhost server certificate; write PEMs to ``directory``.

    Validity is trustme's fixed window (2000 to 3000), so neither the wall clock nor a test
    advancing the sandbox clock takes the certificates out of it. The CA's private key never
    leaves this process.
    """
    target = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="integrator-sandbox-tls-"))
    ca = trustme.CA(organization_name=_ORGANIZATION, organization_unit_name="integrator sandbox CA")
    server = ca.issue_cert(
        *_SERVER_NAMES, organization_name=_ORGANIZATION, organization_unit_name="sandbox server"
    )
    tls = SandboxTLS(
        directory=target,
        ca_cert_path=target / "ca.pem",
        server_cert_path=target / "server.pem",
        server_key_path=target / "server-key.pem",
    )
    ca.cert_pem.write_to_path(tls.ca_cert_path)
    # The chain includes the CA so clients that only trust the CA can build the path.
    chain = b"".join(pem.bytes() for pem in server.cert_chain_pems) + ca.cert_pem.bytes()
    tls.server_cert_path.write_bytes(chain)
    tls.server_key_path.touch(mode=0o600)
    tls.server_key_path.chmod(0o600)
    server.private_key_pem.write_to_path(tls.server_key_path)
    return tls


def self_signed_app_certificate(common_name: str = "integrator app") -> tuple[bytes, bytes]:
    """A self-signed certificate for an Entra app credential: (certificate PEM, private key PEM).

    Register the certificate with ``sb.graph.register_app(certificate_pem=...)`` and give
    ``CertificateCredential`` the concatenation ``key_pem + cert_pem`` as ``certificate_data``.

    The only self-signed certificate trustme makes is a CA's own, so this is one: RSA, because
    azure-identity signs the client assertion with RS256 and refuses other keys. Entra looks at
    the key and the thumbprint only, not at the CA flag; trustme gives a CA no common name, so
    ``common_name`` goes into the subject's organizational unit.
    """
    app = trustme.CA(
        organization_name=_ORGANIZATION, organization_unit_name=common_name, key_type=trustme.KeyType.RSA
    )
    return app.cert_pem.bytes(), app.private_key_pem.bytes()

"""`integrator sandbox serve`: run the sandbox tenant in the foreground for manual use and demos."""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import click

from integrator.sandbox.launcher import Sandbox


@click.group()
def sandbox() -> None:
    """The local sandbox tenant (Google and Microsoft APIs on 127.0.0.1)."""


@sandbox.command()
@click.option("--port", type=int, default=8470, show_default=True, help="Port of the Google APIs (http).")
@click.option(
    "--graph-port", type=int, default=8471, show_default=True, help="Port of Graph and login (https)."
)
@click.option("--admin-subject", default="integrator@sandbox.example.fi", show_default=True,
              help="Workspace user the service account acts as.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--page-size", type=int, default=5, show_default=True)
@click.option("--latency-ms", type=int, default=0, show_default=True)
@click.option("--secrets-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the key files (default: a new temporary directory).")  # fmt: skip
def serve(
    port: int,
    graph_port: int,
    admin_subject: str,
    seed: int,
    page_size: int,
    latency_ms: int,
    secrets_dir: Path | None,
) -> None:
    """Serve the sandbox until interrupted; print its URLs and a tenant config snippet."""
    sb = Sandbox(
        latency_ms=latency_ms, seed=seed, page_size=page_size, google_port=port, graph_port=graph_port
    )
    sb.start()
    try:
        directory = secrets_dir or Path(tempfile.mkdtemp(prefix="integrator-sandbox-"))
        directory.mkdir(parents=True, exist_ok=True)
        sb.google.add_user(admin_subject, "Integrator Service", admin=True)  # the service acts as a Workspace admin
        key_file = directory / "google-sa.json"
        key_file.write_text(json.dumps(sb.google.service_account_info()), encoding="utf-8")
        key_file.chmod(0o600)
        click.echo(f"Google APIs + token endpoint: {sb.google_url}   admin API: {sb.google_url}/_sandbox/")
        click.echo(_google_snippet(sb, admin_subject, key_file))
        if sb.has_graph:
            client_id, secret = sb.graph.register_app()
            secret_file = directory / "graph-secret.txt"
            secret_file.write_text(secret, encoding="utf-8")
            secret_file.chmod(0o600)
            click.echo(
                f"Microsoft Graph: {sb.graph_url}   login: {sb.login_authority}   CA: {sb.ca_cert_path}"
            )
            click.echo(_microsoft_snippet(sb, client_id, secret_file))
        else:
            click.echo("Microsoft Graph half not installed: serving Google only.")
        click.echo("Press Ctrl+C to stop.")
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()


def _google_snippet(sb: Sandbox, admin_subject: str, key_file: Path) -> str:
    return "\n".join(
        [
            "    google:",
            f"      domain: {sb.google.domain}",
            "      service_account:",
            f"        file: {key_file}",
            f"      admin_subject: {admin_subject}",
            f"      mail_sender: {admin_subject}",
            f"      api_base_url: {sb.google_url}",
        ]
    )


def _microsoft_snippet(sb: Sandbox, client_id: str, secret_file: Path) -> str:
    return "\n".join(
        [
            "    microsoft:",
            f"      tenant_id: {sb.graph.tenant_id}",
            f"      client_id: {client_id}",
            "      client_secret:",
            f"        file: {secret_file}",
            f"      authority: {sb.login_authority}",
            f"      graph_base_url: {sb.graph_url}",
            f"      ca_bundle: {sb.ca_cert_path}",
        ]
    )

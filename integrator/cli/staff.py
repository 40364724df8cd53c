"""`integrator staff`: staff accounts (admins, coordinators, social workers) and API tokens."""

from __future__ import annotations

import os

import click

from integrator.cli.options import database_url_option, open_store
from integrator.web import accounts


@click.group()
def staff() -> None:
    """Staff accounts (admins, coordinators) and API tokens."""


def _password(password_env: str | None) -> str:
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise click.UsageError(f"environment variable {password_env} is empty or not set")
        return value
    value = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    assert isinstance(value, str)
    return value


@staff.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "coordinator", "social_worker"]))
@click.option("--org", "org_key", default=None, help="Organisation key; an admin without one sees all")
@click.option("--password-env", default=None, help="Read the password from this environment variable")
@database_url_option
def staff_add(email: str, name: str, role: str, org_key: str | None, password_env: str | None,
              database_url: str | None) -> None:
    """Add a staff user. Social workers get no password: they receive alerts, they do not log in."""
    password = None if role == "social_worker" else _password(password_env)
    store = open_store(database_url)
    try:
        staff_id = accounts.add_staff(store, email=email, name=name, role=role, org_key=org_key,
                                      password=password)
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"staff user {staff_id} added ({role})")


@staff.command("password")
@click.option("--email", required=True)
@click.option("--password-env", default=None)
@database_url_option
def staff_password(email: str, password_env: str | None, database_url: str | None) -> None:
    """Set a staff user's password."""
    store = open_store(database_url)
    try:
        accounts.set_password(store, accounts.staff_id_by_email(store, email), _password(password_env))
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo("password changed")


@staff.command("deactivate")
@click.option("--email", required=True)
@database_url_option
def staff_deactivate(email: str, database_url: str | None) -> None:
    """End a staff user's access at once (sessions and tokens stop working)."""
    store = open_store(database_url)
    try:
        revoked = accounts.deactivate(store, accounts.staff_id_by_email(store, email))
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"deactivated; {revoked} token(s) revoked")


@staff.group("token")
def token() -> None:
    """API tokens for automation (sent as `Authorization: Bearer <token>`)."""


@token.command("create")
@click.option("--email", required=True, help="The staff user the token acts as")
@click.option("--name", "token_name", required=True, help="What the token is for, e.g. prometheus")
@database_url_option
def token_create(email: str, token_name: str, database_url: str | None) -> None:
    """Create a token and print it once; only its hash is stored."""
    store = open_store(database_url)
    try:
        value = accounts.create_token(store, accounts.staff_id_by_email(store, email), token_name)
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(value)


@token.command("list")
@click.option("--email", required=True)
@database_url_option
def token_list(email: str, database_url: str | None) -> None:
    """List a staff user's tokens (id, name, created, revoked)."""
    store = open_store(database_url)
    try:
        for token_id, name, created, revoked in accounts.list_tokens(store, accounts.staff_id_by_email(store, email)):
            click.echo(f"{token_id}\t{name}\tcreated {created}\t{'revoked ' + revoked if revoked else 'active'}")
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err


@token.command("revoke")
@click.argument("token_id", type=int)
@database_url_option
def token_revoke(token_id: int, database_url: str | None) -> None:
    """Revoke a token by its id (see `staff token list`); it stops working at once."""
    store = open_store(database_url)
    try:
        accounts.revoke_token(store, token_id)
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"token {token_id} revoked")

"""`integrator staff ...` and `integrator serve`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from integrator.cli import cli
from integrator.store.db import Store
from integrator.store.models import Organisation
from integrator.web import accounts


@pytest.fixture
def org_store(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    with store.session() as s:
        s.add(Organisation(key="raisio", name="Raisio"))
    return store


def test_staff_add_then_token_create_prints_a_working_token_once(org_store: Store, db_url: str) -> None:
    runner = CliRunner()
    env = {"INTEGRATOR_DATABASE_URL": db_url, "PW": "a long enough password"}
    result = runner.invoke(cli, ["staff", "add", "--email", "ohjaaja@example.fi", "--name", "Ohjaaja",
                                 "--role", "coordinator", "--org", "raisio", "--password-env", "PW"], env=env)
    assert result.exit_code == 0, result.output
    assert accounts.verify_login(org_store, "ohjaaja@example.fi", "a long enough password") is not None
    result = runner.invoke(cli, ["staff", "token", "create", "--email", "ohjaaja@example.fi", "--name", "ci"], env=env)
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("itk_")
    user = accounts.user_for_token(org_store, token)
    assert user is not None and user.email == "ohjaaja@example.fi"
    listed = runner.invoke(cli, ["staff", "token", "list", "--email", "ohjaaja@example.fi"], env=env)
    assert listed.exit_code == 0 and "\tci\t" in listed.output and token not in listed.output
    token_id = listed.output.split("\t")[0]
    assert runner.invoke(cli, ["staff", "token", "revoke", token_id], env=env).exit_code == 0
    assert accounts.user_for_token(org_store, token) is None


def test_staff_deactivate_ends_login_and_tokens(org_store: Store, db_url: str) -> None:
    runner = CliRunner()
    env = {"INTEGRATOR_DATABASE_URL": db_url, "PW": "a long enough password"}
    runner.invoke(cli, ["staff", "add", "--email", "c@example.fi", "--name", "C", "--role", "coordinator",
                        "--org", "raisio", "--password-env", "PW"], env=env)
    token = runner.invoke(cli, ["staff", "token", "create", "--email", "c@example.fi", "--name", "x"],
                          env=env).output.strip()
    result = runner.invoke(cli, ["staff", "deactivate", "--email", "c@example.fi"], env=env)
    assert result.exit_code == 0 and "1 token(s) revoked" in result.output
    assert accounts.verify_login(org_store, "c@example.fi", "a long enough password") is None
    assert accounts.user_for_token(org_store, token) is None


def test_staff_add_explains_mistakes(org_store: Store, db_url: str) -> None:
    runner = CliRunner()
    env = {"INTEGRATOR_DATABASE_URL": db_url, "PW": "short"}
    result = runner.invoke(cli, ["staff", "add", "--email", "a@example.fi", "--name", "A", "--role", "coordinator",
                                 "--org", "raisio", "--password-env", "PW"], env=env)
    assert result.exit_code != 0 and "at least 12 characters" in result.output
    env["PW"] = "a long enough password"
    result = runner.invoke(cli, ["staff", "add", "--email", "a@example.fi", "--name", "A", "--role", "coordinator",
                                 "--password-env", "PW"], env=env)
    assert result.exit_code != 0 and "only an admin may be without an organisation" in result.output


def test_staff_add_prompts_for_the_password(org_store: Store, db_url: str) -> None:
    result = CliRunner().invoke(cli, ["staff", "add", "--email", "b@example.fi", "--name", "B", "--role", "admin"],
                                env={"INTEGRATOR_DATABASE_URL": db_url},
                                input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    assert accounts.verify_login(org_store, "b@example.fi", "a long enough password") is not None


def test_serve_refuses_to_start_without_a_secret_key(db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "INTEGRATOR_SECRET_KEY"}
    result = CliRunner().invoke(cli, ["serve", "--database-url", db_url], env=env)
    assert result.exit_code != 0
    assert "INTEGRATOR_SECRET_KEY" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_sandbox_answers_health_and_hides_the_rest(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "INTEGRATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    env.pop("INTEGRATOR_SECRET_KEY", None)
    proc = subprocess.Popen([sys.executable, "-c", "from integrator.cli import main; main()", "serve", "--sandbox", "--no-scheduler",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path)
    body = None
    status = None
    try:
        deadline = time.monotonic() + 90  # generous: the CI machine is shared
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                    body = json.loads(resp.read())
                    break
            except OSError:
                time.sleep(0.3)
        if body is not None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/groups", timeout=5)
            except urllib.error.HTTPError as err:
                status = err.code
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=15)
    assert body == {"status": "ok"}, stderr.decode()[-3000:]
    assert proc.returncode == 0, "SIGTERM ends the service cleanly"
    password_file = Path(stdout.decode().split("with the password in ")[1].split()[0])
    assert not password_file.exists(), "the rehearsal removes its key and password files when it stops"
    assert status == 401, "the API must answer 401 without login"
    for line in stderr.decode().splitlines():
        if line.startswith("{"):
            assert "@" not in json.loads(line)["msg"]


def test_serve_lists_every_problem_of_a_broken_config_and_does_not_start(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "integrator.yaml"
    config.write_text("organisations:\n  - key: Bad Key\n    name: x\n    nonsense: 1\n")
    result = CliRunner().invoke(cli, ["serve", "--config", str(config), "--database-url", db_url],
                                env={"INTEGRATOR_SECRET_KEY": "k" * 32})
    assert result.exit_code == 2
    assert "organisations[0].key" in result.output and "organisations[0].nonsense: unknown key" in result.output

"""`manage.py check --deploy` is clean with the production settings (DEBUG off, real secrets from the environment)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path, **extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MDM_", "SECURE_", "DJANGO_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),  # 86 characters, no repeated pattern: passes W009
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="mdm.example.org",
        MDM_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        **extra,
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def check_deploy(env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_check_deploy_is_clean_in_production(tmp_path):
    result = check_deploy(production_env(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output
    assert "WARNINGS:" not in output and "security.W" not in output


def test_check_deploy_names_what_an_operator_turned_off(tmp_path):
    """The check is not blind: turning HTTPS redirection and HSTS off in production is reported."""
    result = check_deploy(production_env(tmp_path, MDM_SSL_REDIRECT="0", MDM_HSTS_SECONDS="0"))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "security.W004" in output and "security.W008" in output

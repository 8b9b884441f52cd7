"""Settings: local runs make their own secrets; production refuses to start without real ones and passes
`check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def run_ningju(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NINGJU_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-m", "ningju", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_local_run_generates_secrets_once_under_var(tmp_path: Path) -> None:
    env = {"NINGJU_VAR_DIR": str(tmp_path)}
    assert run_ningju(["check"], env).returncode == 0
    secret, key = (tmp_path / "ningju_secret_key").read_text(), (tmp_path / "ningju_field_key").read_text()
    Fernet(key.encode())  # a valid Fernet key
    assert oct((tmp_path / "ningju_field_key").stat().st_mode)[-3:] == "600"
    assert run_ningju(["check"], env).returncode == 0
    assert (tmp_path / "ningju_secret_key").read_text() == secret  # kept, not regenerated


def test_production_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    result = run_ningju(["check"], {"NINGJU_ENV": "production", "NINGJU_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "NINGJU_SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / "ningju_secret_key").exists()


def test_production_refuses_to_start_without_field_key(tmp_path: Path) -> None:
    env = {"NINGJU_ENV": "production", "NINGJU_VAR_DIR": str(tmp_path), "NINGJU_SECRET_KEY": "x" * 60}
    result = run_ningju(["check"], env)
    assert result.returncode != 0
    assert "NINGJU_FIELD_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_lookup_key(tmp_path: Path) -> None:
    env = {
        "NINGJU_ENV": "production",
        "NINGJU_VAR_DIR": str(tmp_path),
        "NINGJU_SECRET_KEY": "x" * 60,
        "NINGJU_FIELD_KEY": Fernet.generate_key().decode(),
    }
    result = run_ningju(["check"], env)
    assert result.returncode != 0
    assert "NINGJU_LOOKUP_KEY must be set" in result.stderr
    assert not (tmp_path / "ningju_lookup_key").exists()


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    env = {
        "NINGJU_ENV": "production",
        "NINGJU_VAR_DIR": str(tmp_path),
        "NINGJU_SECRET_KEY": "k" * 20 + "Q7$#pZx!2vL9@wE4rT6yU8iO0pA3sD5fG",
        "NINGJU_FIELD_KEY": Fernet.generate_key().decode(),
        "NINGJU_LOOKUP_KEY": "A" * 43 + "=",
        "NINGJU_ALLOWED_HOSTS": "ningju.example.org",
    }
    result = run_ningju(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stderr + result.stdout

"""Settings read from the environment: strict, and production-safe with DEBUG off."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from trupeo.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "raw,expected", [("True", True), ("false", False), ("1", True), ("off", False)]
)
def test_env_bool_reads_clear_values(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", not expected) is expected


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG must be True or False"):
        env_bool("SOME_FLAG", False)


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("N", "12")
    monkeypatch.setenv("HOSTS", " a.fr, b.fr ,,")
    assert env_int("N", 1) == 12
    assert env_list("HOSTS") == ["a.fr", "b.fr"]
    monkeypatch.setenv("N", "douze")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("N", 1)


def _manage(tmp_path, *args, **env):
    cleared = (
        "SECRET_KEY",
        "DEBUG",
        "DATABASE_URL",
        "SECURE_SSL_REDIRECT",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )
    base = {k: v for k, v in os.environ.items() if k not in cleared}
    base.update(TRUPEO_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True
    )


def test_missing_secret_key_is_an_error_at_start_up(tmp_path):
    result = _manage(tmp_path, "check", DEBUG="False")
    assert result.returncode != 0
    assert "SECRET_KEY is missing" in result.stderr


def test_a_bad_boolean_is_an_error_at_start_up(tmp_path):
    result = _manage(tmp_path, "check", DEBUG="yes please", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DEBUG must be True or False" in result.stderr


def test_deploy_checks_pass_with_debug_off(tmp_path):
    result = _manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="False",
        SECRET_KEY="k" + "9f3!aQz#Lm2@vB7$xR5^nT8&wY1*eU4(oI6)pA0_sD" * 2,
        ALLOWED_HOSTS="trupeo.example.fr",
        RESEND_API_KEY="re_test_not_a_real_key",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_security_headers_and_csp_nonce(client, db):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    body = response.content.decode()
    # Every script tag of ours carries the nonce; no inline style attribute anywhere.
    assert body.count("<script") == body.count(f'nonce="{nonce}"')
    assert "style=" not in body
    assert response["X-Frame-Options"] == "DENY"

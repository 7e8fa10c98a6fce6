"""Settings read from the environment: strict, and production-safe with DEBUG off."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.utils.log import AdminEmailHandler
from django.views.debug import technical_500_response

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
        "RESEND_API_KEY",
        "TRUPEO_MAIL_TO_MEMORY",
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


PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": "k" + "9f3!aQz#Lm2@vB7$xR5^nT8&wY1*eU4(oI6)pA0_sD" * 2,
    "ALLOWED_HOSTS": "trupeo.example.fr",
}


def test_production_refuses_to_start_without_transactional_mail(tmp_path):
    # The console backend would print every password-reset and invitation link into the logs.
    result = _manage(tmp_path, "check", **PRODUCTION)
    assert result.returncode != 0
    assert "No transactional mail: set RESEND_API_KEY" in result.stderr
    # gunicorn's entry point refuses too: no password reset can ever be asked for.
    env = {k: v for k, v in os.environ.items() if k not in ("RESEND_API_KEY",)}
    env.update(PRODUCTION, TRUPEO_DATA_DIR=str(tmp_path), TRUPEO_MAIL_TO_MEMORY="False")
    result = subprocess.run(
        [sys.executable, "-c", "from trupeo.wsgi import application; print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "started" not in result.stdout
    assert "No transactional mail" in result.stderr


def test_deploy_check_warns_when_mail_stays_in_memory(tmp_path):
    result = _manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        TRUPEO_MAIL_TO_MEMORY="True",
        **PRODUCTION,
    )
    assert result.returncode != 0
    assert "accounts.W001" in result.stderr and "no mail is delivered" in result.stderr


def _mailer(tmp_path, **env) -> str:
    code = "from django.conf import settings; print(settings.MAILERS['default']['BACKEND'])"
    result = _manage(tmp_path, "shell", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_mail_backends_by_environment(tmp_path):
    # `make run` (DEBUG on) prints mail readable on the console; production sends through Resend.
    assert _mailer(tmp_path, DEBUG="True") == "trupeo.mail_console.EmailBackend"
    assert _mailer(tmp_path, RESEND_API_KEY="re_test_x", **PRODUCTION) == (
        "anymail.backends.resend.EmailBackend"
    )
    # Tests and image builds keep mail in memory: never printed, never sent.
    assert _mailer(tmp_path, TRUPEO_MAIL_TO_MEMORY="True", **PRODUCTION) == (
        "django.core.mail.backends.locmem.EmailBackend"
    )


# Built at run time: the debug page also shows this file's source lines around the crash.
PASSWORD = "s3" + "cret-" + "Zx9"
SECRET_URLS = {
    "REDIS_URL": f"redis://:{PASSWORD}@cache.internal:6379/0",
    "CELERY_BROKER_URL": f"redis://:{PASSWORD}@cache.internal:6379/0",
    "CACHES": {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": [f"redis://:{PASSWORD}@cache.internal:6379/0"],
        }
    },
    "SOME_SERVICE_URL": f"https://bot:{PASSWORD}@api.example.fr/v1?x=1",
}


def _crash(request):
    database_url = f"postgres://trupeo:{PASSWORD}@db.internal:5432/trupeo"
    raise RuntimeError(f"cannot reach {database_url}")


def _request_with_secrets():
    return RequestFactory().get("/inbox/", HTTP_X_UPSTREAM=f"amqp://guest:{PASSWORD}@mq.internal//")


def test_debug_page_hides_passwords_inside_urls(settings, db):
    settings.DEBUG = True
    for name, value in SECRET_URLS.items():
        setattr(settings, name, value)
    request = _request_with_secrets()
    try:
        _crash(request)
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())
    page = response.content.decode()
    assert "cache.internal:6379" in page and "api.example.fr" in page  # still useful…
    assert "db.internal:5432" in page and "mq.internal" in page
    assert "cannot reach postgres://trupeo:********************@db.internal" in page
    assert PASSWORD not in page  # …but no password: settings, headers, local variables


def test_error_emails_hide_passwords_inside_urls(settings, db):
    settings.ADMINS = ["ops@trupeo.example.fr"]
    for name, value in SECRET_URLS.items():
        setattr(settings, name, value)
    request = _request_with_secrets()
    try:
        _crash(request)
    except RuntimeError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "crash", None, sys.exc_info()
        )
    record.request = request
    AdminEmailHandler(include_html=True).emit(record)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    html = message.alternatives[0].content
    assert "cache.internal" in message.body and "db.internal" in html
    assert PASSWORD not in message.body and PASSWORD not in html


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_access_log_keeps_no_link_secret(tmp_path):
    # gunicorn as docker-compose.yml runs it; the token travels in the path and the Referer.
    port = _free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "TRUPEO_DATA_DIR": str(tmp_path), "ALLOWED_HOSTS": "127.0.0.1"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "trupeo.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(log),
            "--logger-class",
            "trupeo.gunicorn_logs.AccessLogger",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    token = "MQ:1xaDxw:EwGmFmqZwHlH-WuzFlUFhtesb-Secret"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/invitations/{token}/",
                    headers={"Referer": f"http://127.0.0.1:{port}/accounts/confirm-email/{token}/"},
                )
                urllib.request.urlopen(request, timeout=5)  # noqa: S310 (our own loopback server)
            except urllib.error.HTTPError:
                break  # an answer (the link is forged): the request was served and logged
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
                continue
            break
        deadline = time.monotonic() + 10
        while "/invitations/" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "no access line written"
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    line = log.read_text()
    assert "GET /invitations/********/" in line
    assert "/accounts/confirm-email/********/" in line
    assert "Secret" not in line


@pytest.mark.django_db
def test_postgresql_runs_the_apps_queries_without_parallel_workers():
    # Workers cost more CPU to start than the app's short queries save (bench/load.py).
    from django.db import connection

    if connection.vendor != "postgresql":
        assert "options" not in connection.settings_dict.get("OPTIONS", {})
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"

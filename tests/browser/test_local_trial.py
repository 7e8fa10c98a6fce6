"""The local trial as a newcomer runs it: what `make run` runs (migrate, seed_demo, then
scripts/run_local.py with its web server, Celery worker, beat, IDLE watcher and SMTP catcher),
in a fresh data directory on the embedded defaults (SQLite, file broker, no Redis), driven by a
real Chromium: sign in as the demo owner, reply, see the reply caught and filed as sent, and
send the contact form offline."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser.session import log_in
from tests.parts import free_loopback_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent.parent
PYTHON = str(Path(sys.executable).parent / "python")
OWNER, PASSWORD = "camille@lycee-demo.fr", "demo-trupeo-2026"  # printed by seed_demo
REPLY = "Bien reçu, c’est noté : Lucas est excusé — à jeudi !"
# The test suite's own settings (pyproject's env) are not the trial's: the trial runs on what
# a fresh checkout has, DEBUG and the embedded defaults.
NOT_THE_TRIALS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "TRUPEO_MASTER_KEYS",
    "TRUPEO_MAIL_TO_MEMORY",
    "TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS",
    "SECURE_SSL_REDIRECT",
    "TRUPEO_REQUIRE_ALL_PARTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_SETTINGS_MODULE",
    "TURNSTILE_SITE_KEY",
    "TURNSTILE_SECRET_KEY",
    "SITE_URL",
)


FILED_IN_SENT = """
from inbox.models import Outgoing
[outgoing] = Outgoing.objects.exclude(state="draft").select_related("message__folder")
print(outgoing.state, outgoing.message.folder.role)
"""


def _trial_shell(env: dict, code: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _trial_env(data_dir: Path, port: int, smtp_port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in NOT_THE_TRIALS}
    env.update(
        DEBUG="True",
        TRUPEO_DATA_DIR=str(data_dir),
        PORT=str(port),
        TRUPEO_LOCAL_SMTP_PORT=str(smtp_port),
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_until(check, *, seconds: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    pytest.fail(f"{what} within {seconds} s\n{tail}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def test_the_local_trial_from_make_run(browser, tmp_path):
    port, smtp_port = free_loopback_port(), free_loopback_port()
    env = _trial_env(tmp_path / "data", port, smtp_port)
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        done = subprocess.run(
            [PYTHON, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert f"log in as {OWNER} / {PASSWORD}" in done.stdout
    assert f"127.0.0.1:{smtp_port}" in done.stdout  # replies go to the catcher

    log = tmp_path / "run_local.log"
    with log.open("wb") as output:
        trial = subprocess.Popen(
            [PYTHON, "scripts/run_local.py"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    context = None
    try:
        _wait_until(
            lambda: _answers(f"{base}/accounts/login/"),
            seconds=30,
            what="the site did not answer",
            log=log,
        )
        _wait_until(
            lambda: f"Local SMTP catcher on 127.0.0.1:{smtp_port}" in log.read_text(),
            seconds=15,
            what="the SMTP catcher did not start",
            log=log,
        )
        context = browser.new_context(base_url=base, locale="fr-FR")
        context.set_default_timeout(15_000)
        page = context.new_page()
        log_in(page, OWNER, PASSWORD)

        # The owner sets the undo delay to 0 on the Team page, so the reply leaves at once.
        page.goto("/team/")
        page.locator("input[name=undo_send_seconds]").fill("0")
        with page.expect_navigation():
            page.locator("input[name=undo_send_seconds]").press("Enter")
        assert page.locator("input[name=undo_send_seconds]").input_value() == "0"

        page.goto("/inbox/")
        with page.expect_navigation():
            page.locator("a[href*='/inbox/c/']").first.click()
        page.wait_for_load_state("networkidle")
        subject = page.locator("#conv-title").inner_text().rsplit("#", 1)[0].strip()
        sent_before = page.locator(".message-out").count()
        page.keyboard.press("r")
        page.locator("#composer-rich-body").wait_for()
        page.locator(".ql-editor").click()
        page.keyboard.type(REPLY)
        with page.expect_navigation(timeout=30_000):
            page.locator("#composer-send").click()

        # The worker sends it through the catcher, which prints it readable (UTF-8, not QP).
        _wait_until(
            lambda: REPLY in log.read_text(errors="replace"),
            seconds=45,
            what="the reply was not caught by the local SMTP catcher",
            log=log,
        )
        printed = log.read_text()
        assert "Local SMTP catcher: caught (not delivered) a message sent as" in printed
        assert f"Subject: Re: {subject}\n" in printed
        assert f"[text/plain]\n{REPLY}\n" in printed
        assert "=C3=A7" not in printed  # "ç" as a person reads it

        # Filed as sent: the conversation shows it as an outgoing message.
        def shows_as_sent() -> bool:
            page.reload()
            page.wait_for_load_state("networkidle")
            return page.locator(".message-out").count() > sent_before

        _wait_until(shows_as_sent, seconds=30, what="the reply was not shown as sent", log=log)
        newest = page.locator(".message-out").last
        frame = newest.locator("iframe.message-frame")
        if frame.count():
            shown = frame.content_frame.locator("body").inner_text()
        else:
            shown = newest.locator(".message-body").inner_text()
        assert REPLY in shown
        # …and in the trial's own database: sent once, its copy filed in the mailbox's Sent.
        assert _trial_shell(env, FILED_IN_SENT).split() == ["sent", "sent"]

        # The contact form works offline, through the Turnstile stand-in.
        visitor = browser.new_context(base_url=base, locale="fr-FR")
        try:
            public = visitor.new_page()
            public.goto("/fr/contact/")
            public.fill("#id_name", "Élodie Marchand")
            public.fill("#id_email", "elodie.marchand@college-exemple.fr")
            public.select_option("#id_subject", "question")
            public.fill("#id_message", "Bonjour, combien coûte Trupeo pour douze personnes ?")
            with public.expect_navigation():
                public.locator("form:has(#id_message) button[type=submit]").click()
            assert "sent=1" in public.url
            public.get_by_text("Votre message est envoyé", exact=False).wait_for(timeout=5_000)
        finally:
            visitor.close()
    finally:
        if context is not None:
            context.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(trial.pid, signal.SIGTERM)  # run_local stops its children on SIGTERM
        try:
            trial.wait(timeout=15)
        finally:
            # Nothing of the trial outlives the test: its children share its process group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(trial.pid, signal.SIGKILL)
            trial.wait(timeout=5)

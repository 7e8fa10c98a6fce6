"""`make run`: the web server, a Celery worker, the scheduler, the IDLE watcher and a local SMTP
catcher (the demo mailbox sends through it), started and stopped together."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORT = os.environ.get("PORT", "8000")

COMMANDS = {
    "web": [str(BIN / "python"), "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"],
    "worker": [str(BIN / "celery"), "-A", "trupeo", "worker", "--loglevel=INFO", "--concurrency=2"],
    "beat": [str(BIN / "celery"), "-A", "trupeo", "beat", "--loglevel=INFO"],
    "idle": [str(BIN / "python"), "manage.py", "imap_idle"],
    "smtp": [str(BIN / "python"), "-m", "trupeo.local_smtp"],
}


# Offline, Cloudflare cannot be asked: with its published test keys (and DEBUG) the contact
# and waitlist forms use a local stand-in for Turnstile (privacy/site/turnstile.py). Real keys set
# in the environment win.
TURNSTILE_TEST_KEYS = {
    "TURNSTILE_SITE_KEY": "1x00000000000000000000AA",
    "TURNSTILE_SECRET_KEY": "1x0000000000000000000000000000000AA",
}


def main() -> int:
    env = dict(os.environ)
    if not (env.get("TURNSTILE_SITE_KEY") or env.get("TURNSTILE_SECRET_KEY")):
        env.update(TURNSTILE_TEST_KEYS)
    processes = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in COMMANDS.items()}
    print(
        f"\n  Trupeo is starting on http://127.0.0.1:{PORT}/  (Ctrl+C stops everything)\n",
        flush=True,
    )

    def stop(*_args: object) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(
                        f"{name} stopped (exit {process.returncode}); stopping the others.",
                        flush=True,
                    )
                    stop()
                    return process.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop()
        return 0
    finally:
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())

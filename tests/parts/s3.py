"""A real S3 endpoint for tests: moto's server, started once per session on loopback."""

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.parts import free_loopback_port, require_part

_START_TIMEOUT = 30.0  # seconds; moto imports a lot on first start


def _moto_server_binary() -> str | None:
    # Next to the running interpreter first: the venv's moto, whatever the PATH.
    candidate = Path(sys.executable).with_name("moto_server")
    return str(candidate) if candidate.exists() else shutil.which("moto_server")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback, fixed scheme)
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of a moto S3 server (any credentials; create your own buckets)."""
    binary = _moto_server_binary()
    if binary is None:
        require_part("s3", "moto_server not found (install moto[server])")
    log_path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    failure = "did not start"
    for _attempt in range(3):  # the free port can be taken between probe and bind
        port = free_loopback_port()
        url = f"http://127.0.0.1:{port}"
        # A log file, not a pipe: a full pipe would block the server mid-test.
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None and not _answers(url):
            time.sleep(0.1)
        if proc.poll() is None and _answers(url):
            try:
                yield url
            finally:
                _stop(proc)
            return
        _stop(proc)
        tail = log_path.read_text(errors="replace")[-2000:]
        failure = f"exit code {proc.returncode}, log tail:\n{tail}"
    require_part("s3", f"moto_server did not answer on loopback ({failure})")

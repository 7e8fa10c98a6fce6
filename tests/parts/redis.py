"""A Redis server of the test's own (never the shared one), that a test can kill and restart
on the same port to reproduce an outage."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.parts import free_loopback_port, require_part

HOST = "127.0.0.1"


@dataclass
class OwnRedis:
    port: int
    directory: Path
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            require_part("redis-server", "the redis-server binary is not installed")
        # No persistence: a restarted server is empty, as after losing its data.
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.kill()
        require_part("redis-server", f"did not answer on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the outage starts now, with no goodbye to the clients."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture
def own_redis(tmp_path) -> Iterator[OwnRedis]:
    server = OwnRedis(port=free_loopback_port(), directory=tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()

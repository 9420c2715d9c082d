"""Services started as real processes (``python -m sextant_<service>``), as deployed."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.infrastructure import REPO_ROOT, Infrastructure

LOGS = REPO_ROOT / ".local" / "logs" / "tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """One service process with its own log file; ``kill()`` is a real SIGKILL."""

    def __init__(
        self, module: str, infra: Infrastructure, *, env: dict[str, str], name: str
    ) -> None:
        self.module = module
        self.env = {**os.environ, **infra.environment(), "HF_HUB_OFFLINE": "1", **env}
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path: Path = LOGS / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "ServiceProcess":
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module], env=self.env, stdout=log, stderr=log
            )
        return self

    def wait_http(self, url: str, *, status: int = 200, timeout_s: float = 120) -> httpx.Response:
        """Poll ``url`` until it answers ``status``; fail early if the process died."""
        deadline = time.monotonic() + timeout_s
        last: str = "no answer"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.module} exited with {self.process.returncode}: {self.tail()}"
                )
            try:
                response = httpx.get(url, timeout=2)
                if response.status_code == status:
                    return response
                last = f"{response.status_code} {response.text}"
            except httpx.TransportError as error:
                last = str(error)
            time.sleep(0.3)
        raise AssertionError(f"{url} never answered {status} ({last}): {self.tail()}")

    def stop(self, timeout_s: float = 30) -> int:
        """SIGTERM and wait: the service's own graceful shutdown."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

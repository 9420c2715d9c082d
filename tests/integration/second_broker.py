"""A second, private Kafka broker that a test may stop and start at will.

The shared broker serves every other test, so outage tests get their own: same scripts,
same jars, its own ports and data directory.
"""

import os
import subprocess
from pathlib import Path

from sextant_platform.settings import KafkaSettings
from tests.integration.infrastructure import REPO_ROOT
from tests.integration.processes import free_port

KAFKA_SCRIPT = REPO_ROOT / "deploy" / "local" / "kafka.sh"
SHARED_JARS = REPO_ROOT / ".local" / "kafka" / "libs"


class PrivateBroker:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self._env = {
            **os.environ,
            "SEXTANT_LOCAL_DIR": str(directory),
            "SEXTANT_KAFKA_PORT": str(self.port),
            "SEXTANT_KAFKA_CONTROLLER_PORT": str(free_port()),
            "SEXTANT_KAFKA_LIBS": str(SHARED_JARS),
        }
        self.settings = KafkaSettings(BOOTSTRAP_SERVERS=f"127.0.0.1:{self.port}")

    def _run(self, action: str) -> None:
        subprocess.run(
            ["bash", str(KAFKA_SCRIPT), action], check=True, env=self._env, cwd=REPO_ROOT
        )

    def start(self) -> None:
        self._run("up")

    def stop(self) -> None:
        self._run("down")

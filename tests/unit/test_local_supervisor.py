"""``make run``'s supervisor restarts a program that exits, with a growing pause, and
says so; stopping it stops its programs. Real processes."""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SUPERVISOR = REPO_ROOT / "deploy" / "local" / "supervisor.py"
CRASHING = "tests.unit.supervised.crashes_at_once"
HEALTHY = "tests.unit.supervised.runs_until_stopped"


def _until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(SUPERVISOR),
            "--pids",
            str(tmp_path / "pids"),
            "--logs",
            str(tmp_path / "logs"),
            CRASHING,
            HEALTHY,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process, tmp_path
    if process.poll() is None:  # stopped as make stop does, so it stops its programs too
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _log(tmp_path: Path) -> str:
    path = tmp_path / "logs" / "supervisor.log"
    return path.read_text() if path.exists() else ""


def _pid(tmp_path: Path, module: str) -> int:
    return int((tmp_path / "pids" / f"{module}.pid").read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_program_that_exits_is_restarted_after_a_growing_pause(
    supervised: tuple[subprocess.Popen[bytes], Path],
) -> None:
    _, tmp_path = supervised
    _until(lambda: "restart 3)" in _log(tmp_path), 30, "three restarts")
    pauses = re.findall(rf"{CRASHING} exited with code 3 .*restarting in (\S+)s", _log(tmp_path))
    assert pauses[:3] == ["1", "2", "4"]


def test_a_killed_program_comes_back_and_stopping_stops_everything(
    supervised: tuple[subprocess.Popen[bytes], Path],
) -> None:
    process, tmp_path = supervised
    _until(lambda: (tmp_path / "pids" / f"{HEALTHY}.pid").exists(), 30, "the healthy program")
    first = _pid(tmp_path, HEALTHY)
    os.kill(first, signal.SIGKILL)
    _until(lambda: _pid(tmp_path, HEALTHY) != first, 30, "the restart")
    second = _pid(tmp_path, HEALTHY)
    assert f"{HEALTHY} exited with code -9" in _log(tmp_path)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not _alive(second)

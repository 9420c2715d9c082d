"""The supervisor ``make run`` starts the services under: it restarts whatever exits.

Why: a service that meets something it cannot go on without (a loop that dies, see
``sextant_platform.fatal``) turns its health red and exits non-zero, trusting its
supervisor to start it again. systemd and Kubernetes do; this is the same for the local
stack. A program that exits is started again after a pause that doubles with each exit
in a row (1 s, 2 s, 4 s ... at most 30 s) and starts from 1 s again once it has run for
a minute; every exit and restart is logged here and to ``supervisor.log``. SIGTERM or
SIGINT stops the programs (SIGTERM, then SIGKILL after a grace) and then the supervisor.

Each program runs as ``python -m MODULE`` in a session of its own; its pid is in
``PIDS/MODULE.pid`` and its output in ``LOGS/MODULE.log``.

    python deploy/local/supervisor.py --pids .local/run --logs .local/logs/run \\
        sextant_tools sextant_ingress
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

FIRST_PAUSE_S = 1.0
MAX_PAUSE_S = 30.0
STABLE_S = 60.0
"""A program that ran this long before exiting is restarted after the first pause."""
STOP_GRACE_S = 20.0
TICK_S = 0.2


@dataclass
class Program:
    module: str
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    start_at: float = 0.0
    pause_s: float = 0.0
    restarts: int = 0


class Supervisor:
    def __init__(self, modules: list[str], *, pids: Path, logs: Path) -> None:
        self._programs = [Program(module) for module in modules]
        self._pids = pids
        self._logs = logs
        self._stopping = False
        self._log: TextIO | None = None

    def say(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} [supervisor] {message}"
        print(line, flush=True)
        if self._log is not None:
            self._log.write(line + "\n")
            self._log.flush()

    def run(self) -> int:
        self._pids.mkdir(parents=True, exist_ok=True)
        self._logs.mkdir(parents=True, exist_ok=True)
        self._log = (self._logs / "supervisor.log").open("a", encoding="utf-8")
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        while not self._stopping:
            now = time.monotonic()
            for program in self._programs:
                if program.process is None:
                    if now >= program.start_at:
                        self._start(program)
                elif (code := program.process.poll()) is not None:
                    self._exited(program, code, now)
            time.sleep(TICK_S)
        self._stop_all()
        return 0

    def _start(self, program: Program) -> None:
        log = (self._logs / f"{program.module}.log").open("ab")
        program.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", program.module],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        program.started_at = time.monotonic()
        (self._pids / f"{program.module}.pid").write_text(str(program.process.pid))
        self.say(f"started {program.module} (pid {program.process.pid})")

    def _exited(self, program: Program, code: int, now: float) -> None:
        ran_s = now - program.started_at
        if ran_s >= STABLE_S or program.pause_s == 0:
            program.pause_s = FIRST_PAUSE_S
        else:
            program.pause_s = min(program.pause_s * 2, MAX_PAUSE_S)
        program.restarts += 1
        program.process = None
        program.start_at = now + program.pause_s
        self.say(
            f"{program.module} exited with code {code} after {ran_s:.1f}s;"
            f" restarting in {program.pause_s:g}s (restart {program.restarts})"
        )

    def _stop(self, signum: int, _frame: object) -> None:
        self._stopping = True

    def _stop_all(self) -> None:
        running = [p for p in self._programs if p.process is not None]
        for program in running:
            assert program.process is not None
            self.say(f"stopping {program.module} (pid {program.process.pid})")
            _signal_group(program.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for program in running:
            assert program.process is not None
            try:
                program.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.say(f"{program.module} did not stop within {STOP_GRACE_S:g}s; killing it")
                _signal_group(program.process.pid, signal.SIGKILL)
                program.process.wait()
            (self._pids / f"{program.module}.pid").unlink(missing_ok=True)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pids", type=Path, required=True)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("modules", nargs="+")
    arguments = parser.parse_args()
    return Supervisor(arguments.modules, pids=arguments.pids, logs=arguments.logs).run()


if __name__ == "__main__":
    sys.exit(main())

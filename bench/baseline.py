"""A baseline commit's code, run in the same benchmark run as today's.

Why: machines of one kind differ by 2x, so a figure is only worth something next to a
baseline measured on the same machine in the same hour. The baseline's source is
checked out in a git worktree (``.local/baseline/<sha>``) and its services are started
with that source first on ``PYTHONPATH`` (the installed dependencies are today's), on a
database of their own migrated by the baseline's own migrations (today's schema may
not suit the older code). Kafka and Redis are shared: every run uses new consumer
groups and new analysis ids.
"""

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from sextant_platform.settings import PostgresSettings
from sextant_storage.database import create_engine

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Baseline:
    ref: str
    sha: str
    worktree: Path

    @property
    def database(self) -> str:
        return f"sextant_baseline_{self.sha[:12]}"

    def python_path(self) -> str:
        sources = sorted(self.worktree.glob("libs/*/src")) + sorted(
            self.worktree.glob("services/*/src")
        )
        return os.pathsep.join(str(path) for path in sources)


def _git(*arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def checkout(ref: str) -> Baseline:
    """The baseline's worktree, created once and reused."""
    sha = _git("rev-parse", f"{ref}^{{commit}}")
    worktree = ROOT / ".local" / "baseline" / sha[:12]
    if not worktree.exists():
        _git("worktree", "add", "--detach", str(worktree), sha)
    return Baseline(ref=ref, sha=sha, worktree=worktree)


async def _recreate(database: str) -> None:
    admin = create_engine(PostgresSettings(DB="postgres"))
    try:
        async with admin.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
            await connection.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        await admin.dispose()


def _provision_module(baseline: Baseline | None) -> str:
    """Where the provisioning command lives on that side: before the platform was split
    into libraries (issue #21) it was ``sextant_platform.provision``."""
    if baseline is not None and not (baseline.worktree / "libs" / "storage").exists():
        return "sextant_platform.provision"
    return "sextant_storage.provision"


def fresh_database(baseline: Baseline | None, database: str) -> None:
    """Drop and create ``database``, then create the topics and apply the migrations of
    ``baseline`` (None: today's). Both sides of a comparison start from an empty
    database of their own: the shared one holds every earlier run's rows, which would
    weigh on one side only."""
    asyncio.run(_recreate(database))
    env = {**os.environ, "POSTGRES_DB": database}
    if baseline is not None:
        env["PYTHONPATH"] = baseline.python_path()
    # The topics too: an older commit may consume topics today's catalogue no longer
    # creates (before the one-consumer change, every topic had a ``.retry`` companion).
    for step in ("topics", "migrate"):
        subprocess.run(
            [sys.executable, "-m", _provision_module(baseline), step],
            cwd=baseline.worktree if baseline is not None else ROOT,
            env=env,
            check=True,
        )


@contextlib.contextmanager
def running_as(baseline: Baseline) -> Iterator[None]:
    """Processes started meanwhile run the baseline's code on the baseline's database."""
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "POSTGRES_DB")}
    os.environ["PYTHONPATH"] = baseline.python_path()
    os.environ["POSTGRES_DB"] = baseline.database
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

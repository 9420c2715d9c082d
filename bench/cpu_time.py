"""CPU time used by the project's processes, read from /proc (Linux).

Why: wall-clock throughput on a 2-core box hides where the CPU goes and differs 2x
between machines of the same kind; CPU seconds per analysis, summed over every process
of the stack (the services with their worker processes, and Kafka, PostgreSQL and
Redis with theirs), is the figure an optimisation has to move.
"""

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    parent = int(fields[1])
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return parent, (utime + stime + cutime + cstime) / CLOCK_TICKS


def _processes() -> dict[int, tuple[int, float]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


def project_roots(local_dir: Path) -> list[int]:
    """The infrastructure's processes started from ``local_dir`` (Kafka, PostgreSQL's
    postmaster, Redis): their command lines name it."""
    roots = []
    marker = str(local_dir.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if marker in command:
            roots.append(int(entry.name))
    return roots


def tree_cpu_s(roots: list[int]) -> float:
    """CPU seconds of ``roots`` and every process below them (live ones, plus what their
    finished children used), each counted once."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    seen: set[int] = set()
    pending = [pid for pid in roots if pid in processes]
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        pending.extend(children.get(pid, []))
    return sum(processes[pid][1] for pid in seen)

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


INFRASTRUCTURE = {"kafka": b"kafka", "postgres": b"postgres", "redis": b"redis"}
"""What names each infrastructure server in its command line."""


def infrastructure_roots(local_dir: Path) -> dict[str, list[int]]:
    """The infrastructure's processes started from ``local_dir`` (Kafka, PostgreSQL's
    postmaster, Redis), by server (nothing else): their command line or working directory names the
    directory (Redis rewrites its command line), the command line the server."""
    roots: dict[str, list[int]] = {}
    marker = str(local_dir.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            directory = os.readlink(entry / "cwd")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if marker in command or directory.startswith(marker):
            for server, mark in INFRASTRUCTURE.items():
                if mark in command.encode():
                    roots.setdefault(server, []).append(int(entry.name))
                    break
    return roots


def cpu_by_part_s(parts: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds of each part (say, "orchestrator" and its pids) and every process
    below them (live ones, plus what their finished children used), one /proc read."""
    processes = _processes()
    return {name: _tree_cpu_s(roots, processes) for name, roots in parts.items()}


def _tree_cpu_s(roots: list[int], processes: dict[int, tuple[int, float]]) -> float:
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

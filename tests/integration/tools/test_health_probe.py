"""``python -m sextant_tools`` as a process: probes answer, SIGTERM stops it cleanly, and
a killed service leaves no worker process behind."""

import asyncio
import os
import time
import uuid
from pathlib import Path

from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import skip_group_to_end
from tests.integration.processes import ServiceProcess, free_port


def _tools_process(infra: Infrastructure, name: str) -> tuple[ServiceProcess, int]:
    """A tools process in a new group that starts at the topic's end: started at the
    earliest offset it ran every invocation earlier tests published (and dead-lettered
    their poison records a second time), and on a slow box its SIGTERM then waited for
    that backlog past the test's timeout."""
    group = f"{name}-{uuid.uuid4().hex[:8]}"
    asyncio.run(skip_group_to_end(infra.kafka, group, ["tools.requested.v1"]))
    port = free_port()
    service = ServiceProcess(
        "sextant_tools",
        infra,
        env={"SEXTANT_TOOLS_HTTP_PORT": str(port), "SEXTANT_TOOLS_CONSUMER_GROUP": group},
        name=name,
    ).start()
    return service, port


def test_tools_process_reports_ready_and_stops_on_sigterm(infra: Infrastructure) -> None:
    service, port = _tools_process(infra, "tools-probe")
    try:
        health = service.wait_http(f"http://127.0.0.1:{port}/healthz")
        ready = service.wait_http(f"http://127.0.0.1:{port}/readyz")
        assert health.json() == {"status": "ok"}
        assert ready.json() == {"status": "ready", "checks": {"kafka": True, "postgres": True}}
        assert service.stop() == 0
    finally:
        service.kill()


def _descendants(pid: int) -> set[int]:
    children: dict[int, set[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, set()).add(int(entry.name))
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        for child in children.get(frontier.pop(), set()):
            found.add(child)
            frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_tools_process_leaves_no_worker_behind(infra: Infrastructure) -> None:
    service, port = _tools_process(infra, "tools-kill")
    try:
        service.wait_http(f"http://127.0.0.1:{port}/readyz")  # workers are warmed up by then
        assert service.process is not None
        workers = _descendants(service.process.pid)
        assert len(workers) >= 2, "the worker pool (and its forkserver) was started"
    finally:
        service.kill()  # SIGKILL: no shutdown code runs
    deadline = time.monotonic() + 20
    while (left := {pid for pid in workers if _alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:  # do not leak them into the rest of the run, then fail
        os.kill(pid, 9)
    assert not left, f"orphaned worker processes: {sorted(left)}"

"""``python -m sextant_tools`` as a process: probes answer, SIGTERM stops it cleanly."""

from tests.integration.infrastructure import Infrastructure
from tests.integration.processes import ServiceProcess, free_port


def test_tools_process_reports_ready_and_stops_on_sigterm(infra: Infrastructure) -> None:
    port = free_port()
    service = ServiceProcess(
        "sextant_tools",
        infra,
        env={"SEXTANT_TOOLS_HTTP_PORT": str(port), "SEXTANT_TOOLS_CONSUMER_GROUP": "tools-probe"},
        name="tools-probe",
    ).start()
    try:
        health = service.wait_http(f"http://127.0.0.1:{port}/healthz")
        ready = service.wait_http(f"http://127.0.0.1:{port}/readyz")
        assert health.json() == {"status": "ok"}
        assert ready.json() == {"status": "ready", "checks": {"kafka": True, "postgres": True}}
        assert service.stop() == 0
    finally:
        service.kill()

"""Run the orchestrator: ``python -m sextant_orchestrator`` (Kafka consumers + probes)."""

from sextant_orchestrator.bootstrap import bootstrap
from sextant_orchestrator.settings import OrchestratorSettings
from sextant_platform.service_main import RunningService, run_service


async def build(settings: OrchestratorSettings) -> RunningService:
    app = await bootstrap(settings)
    return RunningService(http=app.probes, start=app.start, close=app.close)


if __name__ == "__main__":
    run_service(OrchestratorSettings, build)

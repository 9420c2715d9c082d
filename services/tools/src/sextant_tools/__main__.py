"""Run the tools service: ``python -m sextant_tools`` (Kafka consumer + health probes)."""

from sextant_platform.health import HealthApp, database_check, kafka_check
from sextant_platform.service_main import RunningService, run_service
from sextant_tools.bootstrap import bootstrap
from sextant_tools.settings import ToolsSettings


async def build(settings: ToolsSettings) -> RunningService:
    service = bootstrap(settings)
    probes = HealthApp(
        {"kafka": kafka_check(service.broker), "postgres": database_check(service.engine)}
    )
    return RunningService(http=probes, start=service.start, close=service.close)


if __name__ == "__main__":
    run_service(ToolsSettings, build)

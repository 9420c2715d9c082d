"""Settings of the orchestrator service (env prefix ``SEXTANT_ORCHESTRATOR_``)."""

from sextant_platform.settings import ServiceSettings, service_config


class OrchestratorSettings(ServiceSettings):
    """Configuration of the orchestrator service; shared parts come from ServiceSettings."""

    model_config = service_config("SEXTANT_ORCHESTRATOR_")

    SERVICE_NAME: str = "orchestrator"

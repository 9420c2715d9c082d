"""Settings of the tools service (env prefix ``SEXTANT_TOOLS_``)."""

from sextant_platform.settings import ServiceSettings, service_config


class ToolsSettings(ServiceSettings):
    """Configuration of the tools service; shared parts come from ServiceSettings."""

    model_config = service_config("SEXTANT_TOOLS_")

    SERVICE_NAME: str = "tools"

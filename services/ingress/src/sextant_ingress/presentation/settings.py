"""Settings of the ingress service (env prefix ``SEXTANT_INGRESS_``)."""

from sextant_platform.settings import ServiceSettings, service_config


class IngressSettings(ServiceSettings):
    """Configuration of the ingress service; shared parts come from ServiceSettings."""

    model_config = service_config("SEXTANT_INGRESS_")

    SERVICE_NAME: str = "ingress"

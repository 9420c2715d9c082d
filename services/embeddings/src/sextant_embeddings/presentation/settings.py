"""Settings of the embeddings service (env prefix ``SEXTANT_EMBEDDINGS_``)."""

from sextant_platform.settings import ServiceSettings, service_config


class EmbeddingsSettings(ServiceSettings):
    """Configuration of the embeddings service; shared parts come from ServiceSettings."""

    model_config = service_config("SEXTANT_EMBEDDINGS_")

    SERVICE_NAME: str = "embeddings"

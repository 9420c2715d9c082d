"""Settings of the ingress service (env prefix ``SEXTANT_INGRESS_``)."""

import ipaddress

from pydantic import Field

from sextant_platform.settings import ServiceSettings, service_config


class IngressSettings(ServiceSettings):
    """Configuration of the ingress service; shared parts come from ServiceSettings."""

    model_config = service_config("SEXTANT_INGRESS_")

    SERVICE_NAME: str = "ingress"
    HTTP_HOST: str = Field(default="127.0.0.1", description="Where the REST API listens.")
    HTTP_PORT: int = Field(default=8000, ge=0, le=65535)
    MAX_BODY_BYTES: int = Field(default=1_048_576, ge=1024, description="Non-upload bodies.")
    MAX_DATASET_BYTES: int = Field(default=50 * 1024 * 1024, ge=1024)
    MAX_DATASET_ROWS: int = Field(default=1_000_000, ge=1)
    OUTBOX_POLL_S: float = Field(default=1.0, gt=0)
    EVENTS_CONSUMER_GROUP: str = Field(
        default="sextant-ingress-events",
        description="Group that records progress and terminal events for SSE (shared by replicas).",
    )
    SSE_POLL_S: float = Field(
        default=2.0, gt=0, description="Longest an SSE stream waits before re-reading the log."
    )
    SSE_KEEPALIVE_S: float = Field(default=15.0, gt=0, description="Comment frame interval.")
    WEBHOOK_POLL_S: float = Field(
        default=1.0, gt=0, description="How often the deliverer looks for due deliveries."
    )
    WEBHOOK_TIMEOUT_S: float = Field(default=10.0, gt=0, description="One delivery request.")
    WEBHOOK_BACKOFF_S: float = Field(
        default=5.0, gt=0, description="Wait after a first failed attempt (doubles, jittered)."
    )
    WEBHOOK_BACKOFF_MAX_S: float = Field(default=600.0, gt=0)
    WEBHOOK_RETRY_FOR_S: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="A delivery not made this long after its first attempt is marked failed.",
    )
    WEBHOOK_ALLOWED_NETWORKS: dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = (
        Field(
            default_factory=dict,
            description="Per tenant, networks its webhooks may reach besides public"
            ' addresses, as JSON: {"acme": ["10.20.0.0/16"]}. None by default.',
        )
    )

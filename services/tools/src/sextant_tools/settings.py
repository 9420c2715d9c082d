"""Settings of the tools service (env prefix ``SEXTANT_TOOLS_``)."""

from pydantic import Field, IPvAnyNetwork

from sextant_kafka.message_size import MAX_MESSAGE_BYTES
from sextant_platform.settings import ServiceSettings, service_config


class ToolsSettings(ServiceSettings):
    """Configuration of the tools service; shared parts come from ServiceSettings."""

    model_config = service_config("SEXTANT_TOOLS_")

    SERVICE_NAME: str = "tools"
    CONSUMER_GROUP: str = "tools"
    WORKERS: int = Field(default=2, ge=1, le=64, description="Worker processes for pandas work.")
    MAX_IN_FLIGHT_REQUESTS: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="Invocations being served at once (each may hold its dataset in memory); "
        "polling pauses at this many.",
    )
    STALE_REQUEST_S: float = Field(
        default=300.0,
        gt=0,
        description="Invocations older than this are skipped unanswered: their requesters "
        "have given up.",
    )
    TIMEOUT_S: float = Field(default=60.0, gt=0, description="Per-invocation time limit.")
    REPLY_TOPICS_ALLOWED: str = Field(
        default=r"tools\.replied\.v1",
        description="A regular expression every reply topic a request names must match "
        "whole; a request naming another is dead-lettered unanswered (any producer could "
        "otherwise make this service publish onto any topic).",
    )
    MAX_REPLY_BYTES: int = Field(
        default=MAX_MESSAGE_BYTES,
        ge=4096,
        description="Largest reply sent; a larger result (a correlation matrix of hundreds of "
        "columns, a long fetched page) is answered with a result_too_large error. Keep it "
        "below the brokers' message.max.bytes (1 MiB by default).",
    )
    MAX_DATASET_BYTES: int = Field(default=50 * 1024 * 1024, gt=0)
    DATASET_CACHE_BYTES: int = Field(
        default=256 * 1024 * 1024,
        ge=0,
        description="Recently loaded datasets kept in memory (0: read PostgreSQL every time); "
        "an analysis runs several tools on one dataset.",
    )
    PARSED_BYTES_PER_WORKER: int = Field(
        default=256 * 1024 * 1024,
        ge=0,
        description="Parsed datasets each worker keeps (by tenant, dataset id and content "
        "hash, least recently used out first), so the next tool over the same dataset "
        "skips the parse. 0 keeps none.",
    )
    MAX_DATASET_ROWS: int = Field(default=2_000_000, gt=0)
    MAX_DATASET_COLUMNS: int = Field(default=500, gt=0)
    WEB_FETCH_ALLOWED_NETWORKS: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="CIDRs the web fetch tool may reach although not public (tests, intranets).",
    )
    WEB_FETCH_MAX_BYTES: int = Field(default=1_000_000, gt=0)
    WEB_FETCH_TIMEOUT_S: float = Field(default=10.0, gt=0)
    HTTP_HOST: str = Field(default="127.0.0.1", description="Where /healthz and /readyz listen.")
    HTTP_PORT: int = Field(default=8083, ge=0, le=65535)

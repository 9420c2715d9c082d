"""Settings classes (pydantic-settings) for the infrastructure every service shares.

Each class reads its own environment prefix (``KAFKA_``, ``POSTGRES_``, ``REDIS_``,
``TELEMETRY_``) and a ``.env`` file in the working directory; services compose them into
their own ``<Service>Settings`` with a service prefix such as ``SEXTANT_TOOLS_``.
The defaults match ``deploy/local`` so that everything runs on a fresh checkout with no
configuration. Secrets are :class:`~pydantic.SecretStr` so they never print.
"""

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )


class KafkaSettings(BaseSettings):
    """Where the brokers are, how to authenticate, and how failed messages are retried."""

    model_config = _config("KAFKA_")

    BOOTSTRAP_SERVERS: str = "127.0.0.1:39092"
    SECURITY_PROTOCOL: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = "PLAINTEXT"
    SASL_MECHANISM: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    SASL_USERNAME: str | None = None
    SASL_PASSWORD: SecretStr | None = None
    MAX_POLL_INTERVAL_MS: int = Field(default=300_000, ge=10_000)
    SESSION_TIMEOUT_MS: int = Field(default=30_000, ge=6_000)
    REQUEST_TIMEOUT_MS: int = Field(default=40_000, ge=1_000)
    PRODUCER_BATCH_BYTES: int = Field(
        default=512 * 1024,
        ge=16 * 1024,
        le=1024 * 1024,
        description="Bytes a producer buffers per partition (aiokafka's max_batch_size; "
        "at most the brokers' message.max.bytes). aiokafka's default, 16 KiB, filled with "
        "a handful of replies, and every publish waiting behind a full batch woke up at "
        "each drain: 7-10x the CPU per message under concurrent publishing.",
    )


class PostgresSettings(BaseSettings):
    """The PostgreSQL database that holds results, outbox and datasets."""

    model_config = _config("POSTGRES_")

    HOST: str = "127.0.0.1"
    PORT: int = 35432
    USER: str = "sextant"
    PASSWORD: SecretStr = SecretStr("sextant")
    DB: str = "sextant"
    POOL_SIZE: int = Field(default=10, ge=1)
    MAX_OVERFLOW: int = Field(default=10, ge=0)
    PING_IDLE_S: float = Field(
        default=10.0,
        ge=0,
        description="A pooled connection idle this long is pinged before use (0: always).",
    )
    SCHEMA: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]*$")
    CONNECT_TIMEOUT_S: float = Field(
        default=10.0, gt=0, description="Giving up on opening a connection (a stalled server)."
    )
    STATEMENT_TIMEOUT_S: float = Field(
        default=60.0,
        ge=0,
        description="Giving up on one statement's answer (0: never). Without it a stalled "
        "server hung a run for ever while its lease kept being renewed.",
    )

    def sqlalchemy_url(self) -> str:
        """An asyncpg URL for SQLAlchemy; contains the password, so never log it."""
        from urllib.parse import quote

        user = quote(self.USER, safe="")
        password = quote(self.PASSWORD.get_secret_value(), safe="")
        return f"postgresql+asyncpg://{user}:{password}@{self.HOST}:{self.PORT}/{self.DB}"


class RedisSettings(BaseSettings):
    """The Redis that keeps workflow checkpoints."""

    model_config = _config("REDIS_")

    URL: str = "redis://127.0.0.1:36379/0"
    PASSWORD: SecretStr | None = None
    CHECKPOINT_TTL_S: int = Field(
        default=3600,
        ge=60,
        description="How long a finished analysis's checkpoints stay, to inspect it (the"
        " result of record is its PostgreSQL row; nothing reads them once it ended). Kept a"
        " week, they made Redis hold every analysis of the week: tens of KB each, and"
        " snapshots of it all every minute.",
    )
    CONNECT_TIMEOUT_S: float = Field(
        default=5.0, gt=0, description="Giving up on opening a connection."
    )
    SOCKET_TIMEOUT_S: float = Field(
        default=10.0,
        gt=0,
        description="Giving up on one command's answer (then retried with backoff, and "
        "reported as an outage): a stalled Redis must not hang a run for ever.",
    )


class TelemetrySettings(BaseSettings):
    """Logs, traces and metrics."""

    model_config = _config("TELEMETRY_")

    LOG_LEVEL: LogLevel = "INFO"
    LOG_JSON: bool = True
    TRACES_EXPORTER: Literal["none", "console", "otlp"] = "none"
    OTLP_ENDPOINT: str = "http://127.0.0.1:4318"


class ServiceSettings(BaseSettings):
    """Base of every ``<Service>Settings``: the shared parts, composed, and a service name.

    Subclasses set ``model_config = service_config("SEXTANT_<SERVICE>_")`` and add their
    own ``UPPER_CASE`` fields.
    """

    model_config = _config("SEXTANT_")

    SERVICE_NAME: str = "sextant"
    EVENT_LOOP: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="The process's event loop: uvloop (libuv; the default, it spends far "
        "less CPU per socket event) or the standard library's asyncio loop.",
    )
    KAFKA: KafkaSettings = Field(default_factory=KafkaSettings)
    POSTGRES: PostgresSettings = Field(default_factory=PostgresSettings)
    REDIS: RedisSettings = Field(default_factory=RedisSettings)
    TELEMETRY: TelemetrySettings = Field(default_factory=TelemetrySettings)


def service_config(prefix: str) -> SettingsConfigDict:
    """The ``model_config`` for a service's settings class with env prefix ``prefix``."""
    if not prefix.endswith("_"):
        raise ValueError("a settings prefix ends with '_' (e.g. 'SEXTANT_TOOLS_')")
    return _config(prefix)

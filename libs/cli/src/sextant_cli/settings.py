"""Where the CLI finds the API and the broker (env ``SEXTANT_API_URL``, ``SEXTANT_API_KEY``,
and the platform's ``KAFKA_*``); every one can also be given as an option."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from sextant_platform.settings import KafkaSettings


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEXTANT_", env_file=".env", extra="ignore")

    API_URL: str = Field(default="http://127.0.0.1:8000", description="The ingress REST API.")
    API_KEY: SecretStr | None = Field(default=None, description="An API key of your tenant.")
    TIMEOUT_S: float = Field(default=30.0, gt=0)
    KAFKA: KafkaSettings = Field(default_factory=KafkaSettings)
    THREAD_FILE: Path = Field(
        default=Path.home() / ".config" / "sextant" / "thread",
        description="Where `sextant ask` keeps the current thread's id.",
    )

"""LLM settings (env prefix ``LLM_``): which provider, which model, how calls are retried."""

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Provider = Literal["local", "openai", "anthropic", "openai-compatible"]


class PriceSetting(BaseModel):
    """A model's price per million tokens, in the currency budgets are set in."""

    input_per_million: float = Field(default=0.0, ge=0)
    output_per_million: float = Field(default=0.0, ge=0)


class LlmSettings(BaseSettings):
    """``LLM_PROVIDER=local`` (default) needs no network and no key.

    ``openai`` and ``anthropic`` read ``LLM_API_KEY`` (or the SDK's own
    ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY``); ``openai-compatible`` needs
    ``LLM_BASE_URL`` (e.g. ``http://localhost:11434/v1`` for Ollama).
    """

    model_config = SettingsConfigDict(
        env_prefix="LLM_", env_file=".env", extra="ignore", case_sensitive=False
    )

    PROVIDER: Provider = "local"
    MODEL: str | None = Field(default=None, description="Provider default when unset.")
    BASE_URL: str | None = None
    API_KEY: SecretStr | None = None
    TIMEOUT_S: float = Field(default=60.0, gt=0, description="One HTTP call, end to end.")
    TEMPERATURE: float = Field(default=0.0, ge=0, le=2)
    MAX_OUTPUT_TOKENS: int = Field(default=512, ge=16, le=32_768)
    MAX_ATTEMPTS: int = Field(default=4, ge=1, le=10, description="Per call, first included.")
    BACKOFF_S: float = Field(default=0.5, gt=0)
    BACKOFF_MAX_S: float = Field(default=20.0, gt=0, description="Also caps Retry-After.")
    CALLS_PER_ANALYSIS: int = Field(default=12, ge=1, le=200)
    PRICES: dict[str, PriceSetting] = Field(
        default_factory=dict,
        description="Prices by model name, or 'provider/model' (looked up first), as JSON:"
        ' {"gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6}}. A'
        " model without a price costs 0 (its tokens still count).",
    )
    LOCAL_MODEL_PATH: str | None = Field(default=None, description="GGUF; packaged if unset.")
    LOCAL_THREADS: int | None = Field(default=None, ge=1)
    LOCAL_CONTEXT_TOKENS: int = Field(default=4096, ge=512, le=8192)

    @field_validator("MODEL", "BASE_URL", "API_KEY", "LOCAL_MODEL_PATH", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """``LLM_API_KEY=`` (as compose passes an unset variable) means "not set"."""
        return None if isinstance(value, str) and not value.strip() else value

"""The base of every tool's arguments."""

from pydantic import BaseModel, ConfigDict


class ToolArguments(BaseModel):
    """Strict about unknown keys, so a model's typo is an error it can correct."""

    model_config = ConfigDict(extra="forbid", frozen=True)

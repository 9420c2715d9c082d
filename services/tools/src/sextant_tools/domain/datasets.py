"""Datasets held by reference (claim check): messages carry an id, never the data."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

MediaType = Literal["text/csv", "application/json"]


class DatasetLimits(BaseModel):
    """The largest dataset a tool will load; every limit is a clear error, never a crash."""

    model_config = ConfigDict(frozen=True)

    max_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    max_rows: int = Field(default=2_000_000, gt=0)
    max_columns: int = Field(default=500, gt=0)


class Dataset(BaseModel):
    """A stored dataset's metadata; its content is fetched separately."""

    model_config = ConfigDict(frozen=True)

    dataset_id: UUID
    tenant_id: str
    media_type: MediaType
    size_bytes: int = Field(ge=0)
    sha256: str = Field(min_length=64, max_length=64)
    created_at: datetime

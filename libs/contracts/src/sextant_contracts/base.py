"""The base class every contract model derives from.

Contracts are read by services of different versions at once, so they are lenient on
input and strict on output: unknown fields are ignored (a newer producer may add an
optional field that an older consumer does not know yet), and models are frozen so a
received message cannot be mutated by accident.
"""

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """Base for all message models: immutable, forward-compatible, JSON-first."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        populate_by_name=True,
        ser_json_timedelta="float",
    )

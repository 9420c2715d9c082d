"""What every calculation tool is: a name, a description, pydantic arguments, a pure function.

Tools are synchronous and CPU-bound on purpose: the service runs them in a worker pool,
so they never touch the event loop. Each result says which columns and how many rows it
used, so an answer citing it can be checked.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from sextant_tools.domain.errors import ColumnNotFound, InvalidToolArguments

ArgsT = TypeVar("ArgsT", bound="ToolArguments")


class ToolArguments(BaseModel):
    """Base of every tool's arguments: strict about unknown keys, so typos are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Tool(ABC, Generic[ArgsT]):
    """One calculation. Subclasses set ``name``, ``description``, ``arguments`` and ``compute``."""

    name: ClassVar[str]
    description: ClassVar[str]
    arguments: ClassVar[type[ToolArguments]]

    def parse_arguments(self, raw: dict[str, Any]) -> ArgsT:
        """Validate raw JSON arguments; raises InvalidToolArguments with pydantic's reasons."""
        try:
            parsed: ArgsT = self.arguments.model_validate(raw)  # type: ignore[assignment]
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in error.errors()
            )
            raise InvalidToolArguments(f"{self.name}: {problems}") from None
        return parsed

    def run(self, frame: pd.DataFrame, raw_arguments: dict[str, Any]) -> dict[str, JsonValue]:
        """Validate the arguments, then compute; the result is JSON-safe."""
        return self.compute(frame, self.parse_arguments(raw_arguments))

    @abstractmethod
    def compute(self, frame: pd.DataFrame, args: ArgsT) -> dict[str, JsonValue]: ...

    def json_schema(self) -> dict[str, Any]:
        """The arguments' JSON Schema, as LLM tool-calling APIs expect."""
        return self.arguments.model_json_schema()


def require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise ColumnNotFound naming the missing columns and the available ones."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        available = ", ".join(map(str, frame.columns[:50]))
        raise ColumnNotFound(f"unknown column(s) {missing}; available: {available}")


def numeric_columns(frame: pd.DataFrame, requested: Sequence[str] | None) -> list[str]:
    """The requested columns (all numeric ones by default); non-numeric requests are errors."""
    if requested is None:
        return [str(c) for c in frame.select_dtypes(include="number").columns]
    require_columns(frame, requested)
    not_numeric = [c for c in requested if not pd.api.types.is_numeric_dtype(frame[c])]
    if not_numeric:
        raise InvalidToolArguments(f"column(s) {not_numeric} are not numeric")
    return list(requested)


def numeric_series(frame: pd.DataFrame, column: str) -> pd.Series:
    """One numeric column, checked."""
    (name,) = numeric_columns(frame, [column])
    return frame[name]

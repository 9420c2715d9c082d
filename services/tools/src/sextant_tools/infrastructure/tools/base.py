"""What every calculation tool is: a name, a description, pydantic arguments, a pure function.

Tools are synchronous and CPU-bound on purpose: the service runs them in a worker pool,
so they never touch the event loop. Each result says which columns and how many rows it
used, so an answer citing it can be checked.
"""

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

import pandas as pd
from pydantic import JsonValue, ValidationError

from sextant_contracts.errors import describe_validation_error
from sextant_contracts.tool_arguments import FilteredArguments, RowFilter, ToolArguments
from sextant_tools.domain.errors import InvalidToolArguments, ToolError, ToolFailed
from sextant_tools.infrastructure.tools.columns import require_columns
from sextant_tools.infrastructure.tools.filters import apply_filters

__all__ = ["FilteredArguments", "Tool", "ToolArguments", "require_columns"]

ArgsT = TypeVar("ArgsT", bound=ToolArguments)
_log = logging.getLogger(__name__)


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
            problems = describe_validation_error(error, limit=10, whole="arguments")
            raise InvalidToolArguments(f"{self.name}: {problems}") from None
        return parsed

    def run(self, frame: pd.DataFrame, raw_arguments: dict[str, Any]) -> dict[str, JsonValue]:
        """Validate the arguments, keep the rows their filters select, then compute; the
        result is JSON-safe and, when rows were filtered, says how many were used."""
        args = self.parse_arguments(raw_arguments)
        filters: list[RowFilter] = list(getattr(args, "filters", []))
        if not filters:
            return self._compute_or_fail(frame, args)
        selected = apply_filters(frame, filters)
        result = self._compute_or_fail(selected, args)
        result["rows"] = len(selected)
        result["rows_before_filters"] = len(frame)
        result["filters"] = [f.model_dump(mode="json") for f in filters]
        return result

    def _compute_or_fail(self, frame: pd.DataFrame, args: ArgsT) -> dict[str, JsonValue]:
        """``compute``; anything it raises that is not a ToolError becomes ToolFailed (an
        answer with the reason), logged with its traceback: a defect must not leave the
        request unanswered until its caller's timeout."""
        try:
            return self.compute(frame, args)
        except ToolError:
            raise
        except Exception as error:
            _log.exception("tool %s failed", self.name)
            raise ToolFailed(f"{self.name} failed on this data: {error!r}") from None

    @abstractmethod
    def compute(self, frame: pd.DataFrame, args: ArgsT) -> dict[str, JsonValue]: ...

    def json_schema(self) -> dict[str, Any]:
        """The arguments' JSON Schema, as LLM tool-calling APIs expect."""
        return self.arguments.model_json_schema()


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

"""A calculation that raises something unexpected is answered as ``tool_failed``."""

from typing import ClassVar

import pandas as pd
import pytest
from pydantic import JsonValue

from sextant_tools.domain.errors import ColumnNotFound, ToolFailed
from sextant_tools.infrastructure.tools.base import Tool, ToolArguments


class _Exploding(Tool[ToolArguments]):
    name: ClassVar[str] = "exploding"
    description: ClassVar[str] = "raises what it is told to"
    arguments: ClassVar[type[ToolArguments]] = ToolArguments

    def __init__(self, error: Exception) -> None:
        self.error = error

    def compute(self, frame: pd.DataFrame, args: ToolArguments) -> dict[str, JsonValue]:
        raise self.error


def test_an_unexpected_error_becomes_an_answer_with_its_reason() -> None:
    tool = _Exploding(TypeError("unhashable type: 'list'"))
    with pytest.raises(ToolFailed, match="exploding failed on this data: TypeError") as raised:
        tool.run(pd.DataFrame({"a": [1]}), {})
    assert raised.value.code == "tool_failed"
    assert not raised.value.retryable


def test_a_tool_error_keeps_its_own_code() -> None:
    with pytest.raises(ColumnNotFound):
        _Exploding(ColumnNotFound("no column 'b'")).run(pd.DataFrame({"a": [1]}), {})

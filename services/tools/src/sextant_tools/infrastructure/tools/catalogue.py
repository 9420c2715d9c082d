"""The tool catalogue: every tool by name, with what an LLM needs to bind it."""

from typing import Any

from sextant_tools.domain.errors import UnknownTool
from sextant_tools.infrastructure.tools.base import Tool
from sextant_tools.infrastructure.tools.grouping import GroupByAggregateTool, TopCategoriesTool
from sextant_tools.infrastructure.tools.outliers import OutlierDetectionTool
from sextant_tools.infrastructure.tools.profile import DatasetProfileTool
from sextant_tools.infrastructure.tools.query import QueryTool
from sextant_tools.infrastructure.tools.statistics import (
    CorrelationMatrixTool,
    DescriptiveStatisticsTool,
)
from sextant_tools.infrastructure.tools.trend import TimeSeriesTrendTool


class ToolCatalogue:
    """Looks tools up by name and describes them (name, description, JSON Schema of args)."""

    def __init__(self, tools: list[Tool[Any]]) -> None:
        self._tools = {tool.name: tool for tool in tools}

    def get(self, name: str) -> Tool[Any]:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownTool(f"unknown tool {name!r}; available: {sorted(self._tools)}") from None

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"name": t.name, "description": t.description, "parameters": t.json_schema()}
            for t in self._tools.values()
        ]


def default_catalogue() -> ToolCatalogue:
    """Every data tool the service offers."""
    return ToolCatalogue(
        [
            DatasetProfileTool(),
            QueryTool(),
            DescriptiveStatisticsTool(),
            CorrelationMatrixTool(),
            GroupByAggregateTool(),
            OutlierDetectionTool(),
            TimeSeriesTrendTool(),
            TopCategoriesTool(),
        ]
    )

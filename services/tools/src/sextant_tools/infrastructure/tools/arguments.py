"""The base of every tool's arguments (defined in the contracts, shared with callers)."""

from sextant_contracts.tool_arguments import ToolArguments

__all__ = ["ToolArguments"]

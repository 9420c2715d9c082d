"""Request/reply contracts between the orchestrator and the tools service."""

from typing import Annotated
from uuid import UUID

from pydantic import Field, JsonValue, StringConstraints

from sextant_contracts.base import Contract
from sextant_contracts.errors import ReplyError

ToolName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]

LIST_TOOLS = "list_tools"
"""The reserved tool name that asks for the catalogue: the reply's result is
``{"tools": [{name, description, parameters}]}`` (JSON Schema), so the orchestrator can
bind the tools to an LLM without importing the tools service."""


class ToolInvocationRequested(Contract):
    """Run tool ``tool_name`` with ``arguments`` over a dataset held by reference."""

    request_id: UUID
    reply_topic: Annotated[str, StringConstraints(min_length=1, max_length=249)] | None = None
    tool_name: ToolName
    dataset_id: UUID | None = None
    arguments: dict[str, JsonValue] = Field(default_factory=dict)


class ToolInvocationReplied(Contract):
    """The tool's JSON result, or a structured error; never both."""

    request_id: UUID
    tool_name: ToolName
    result: dict[str, JsonValue] | None = None
    error: ReplyError | None = None
    duration_ms: float = Field(default=0.0, ge=0)

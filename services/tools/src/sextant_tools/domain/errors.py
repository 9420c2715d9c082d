"""What can go wrong when an agent asks for a calculation, in the domain's words.

Each error has a stable ``code`` that travels in the structured error reply, so the
orchestrator (and the LLM) can tell "your arguments are wrong" from "try again later".
"""


class ToolError(Exception):
    """Base of every error a tool invocation can end with."""

    code = "tool_error"
    retryable = False


class UnknownTool(ToolError):
    code = "unknown_tool"


class InvalidToolArguments(ToolError):
    code = "invalid_arguments"


class ColumnNotFound(InvalidToolArguments):
    code = "unknown_column"


class ValueNotFound(InvalidToolArguments):
    """A filter names a value its column does not hold; the message lists the nearest."""

    code = "unknown_value"


class DatasetNotFound(ToolError):
    code = "dataset_not_found"


class DatasetUnreadable(ToolError):
    """Unparseable content, wrong encoding, or an unsupported media type."""

    code = "dataset_unreadable"


class DatasetTooLarge(ToolError):
    """Over the byte, row or column limit."""

    code = "dataset_too_large"


class ToolFailed(ToolError):
    """The calculation raised something no tool expects (a defect, or data no one
    foresaw). Still an answer: the agent can try another way and the analysis ends."""

    code = "tool_failed"


class ToolTimedOut(ToolError):
    code = "tool_timed_out"
    retryable = True


class ResultTooLarge(ToolError):
    """The result does not fit in one Kafka message: the caller should ask for less."""

    code = "result_too_large"


class SharedMemoryFull(ToolError):
    """The service has no room to hand the dataset to a worker: a deployment limit
    (``/dev/shm`` smaller than 2 x WORKERS x MAX_DATASET_BYTES), or other datasets in flight."""

    code = "shared_memory_full"
    retryable = True

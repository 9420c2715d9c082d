"""``InvokeTool`` over fakes of its ports: every path of the use case, no servers."""

import uuid
from typing import Any

import pytest

from sextant_contracts import ToolInvocationRequested
from sextant_contracts.tools import LIST_TOOLS
from sextant_tools.application.invoke_tool import InvokeTool
from sextant_tools.domain.errors import DatasetNotFound, InvalidToolArguments, ToolTimedOut
from tests.unit.tools.fakes import FakeDatasetStore, FakeWebFetcher, ScriptedRunner

CATALOGUE: list[dict[str, object]] = [
    {"name": "descriptive_statistics", "description": "stats", "parameters": {}},
    {"name": "web_fetch", "description": "a page", "parameters": {}},
]
CSV = b"region,sales\nnorth,1\n"


def _request(tool: str, dataset_id: uuid.UUID | None = None, **arguments: Any) -> Any:
    return ToolInvocationRequested(
        request_id=uuid.uuid4(), tool_name=tool, dataset_id=dataset_id, arguments=arguments
    )


async def _invoke_with(
    runner: ScriptedRunner | None = None,
) -> tuple[InvokeTool, FakeDatasetStore, ScriptedRunner, uuid.UUID]:
    store, runner = FakeDatasetStore(), runner or ScriptedRunner()
    dataset = await store.save(tenant_id="acme", media_type="text/csv", content=CSV)
    return (
        InvokeTool(store, runner, CATALOGUE, web=FakeWebFetcher()),
        store,
        runner,
        dataset.dataset_id,
    )


async def test_a_tool_runs_over_the_tenants_dataset_keyed_by_its_content() -> None:
    invoke, _, runner, dataset_id = await _invoke_with()
    reply = await invoke(_request("descriptive_statistics", dataset_id), tenant_id="acme")
    assert reply.error is None
    assert reply.result == {"tool": "descriptive_statistics"}
    ((tool, key),) = runner.runs
    assert tool == "descriptive_statistics"
    assert key is not None
    assert key.startswith(f"acme/{dataset_id}/")


async def test_list_tools_answers_the_catalogue_without_a_dataset() -> None:
    invoke, store, runner, _ = await _invoke_with()
    reply = await invoke(_request(LIST_TOOLS), tenant_id="acme")
    assert reply.result == {"tools": CATALOGUE}
    assert store.loads == 0
    assert runner.runs == []


@pytest.mark.parametrize(
    ("request_of", "code"),
    [
        (lambda d: _request("no_such_tool", d), "unknown_tool"),
        (lambda d: _request("descriptive_statistics", None), "invalid_arguments"),
        (lambda d: _request("descriptive_statistics", uuid.uuid4()), "dataset_not_found"),
    ],
)
async def test_a_request_that_cannot_run_is_answered_with_its_error(
    request_of: Any, code: str
) -> None:
    invoke, _, runner, dataset_id = await _invoke_with()
    reply = await invoke(request_of(dataset_id), tenant_id="acme")
    assert reply.result is None
    assert reply.error is not None
    assert reply.error.code == code
    assert runner.runs == []


async def test_another_tenants_dataset_is_not_found() -> None:
    invoke, _, _, dataset_id = await _invoke_with()
    reply = await invoke(_request("descriptive_statistics", dataset_id), tenant_id="globex")
    assert reply.error is not None
    assert reply.error.code == "dataset_not_found"


async def test_a_redelivered_request_is_answered_again_without_running() -> None:
    invoke, _, runner, dataset_id = await _invoke_with()
    request = _request("descriptive_statistics", dataset_id)
    first = await invoke(request, tenant_id="acme")
    again = await invoke(request, tenant_id="acme")
    assert again == first
    assert len(runner.runs) == 1


async def test_a_timeout_is_retryable_and_not_remembered() -> None:
    """A timed-out request may succeed when sent again: its reply is not cached."""
    outcomes: list[Exception | None] = [ToolTimedOut("too slow"), None]

    def answer(tool: str, arguments: dict[str, object]) -> dict[str, object]:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return {"done": True}

    invoke, _, _, dataset_id = await _invoke_with(ScriptedRunner(answer))
    request = _request("descriptive_statistics", dataset_id)
    timed_out = await invoke(request, tenant_id="acme")
    again = await invoke(request, tenant_id="acme")
    assert timed_out.error is not None
    assert timed_out.error.retryable
    assert again.result == {"done": True}


async def test_a_tool_error_is_remembered_like_a_result() -> None:
    def refuse(tool: str, arguments: dict[str, object]) -> dict[str, object]:
        raise InvalidToolArguments("no such column: revenue")

    invoke, _, runner, dataset_id = await _invoke_with(ScriptedRunner(refuse))
    request = _request("descriptive_statistics", dataset_id)
    first = await invoke(request, tenant_id="acme")
    again = await invoke(request, tenant_id="acme")
    assert first.error is not None
    assert "revenue" in first.error.message
    assert again == first
    assert len(runner.runs) == 1


async def test_the_web_tool_fetches_without_a_dataset() -> None:
    invoke, store, runner, _ = await _invoke_with()
    reply = await invoke(_request("web_fetch", url="https://example.org"), tenant_id="acme")
    assert reply.result == {"url": "https://example.org", "text": "a page"}
    assert store.loads == 0
    assert runner.runs == []


async def test_a_database_outage_is_raised_for_the_consumer_to_retry() -> None:
    """Only infrastructure failures propagate (the Kafka layer retries the record)."""
    invoke, store, _, dataset_id = await _invoke_with()
    store.outage = ConnectionRefusedError("PostgreSQL is away")
    with pytest.raises(ConnectionRefusedError):
        await invoke(_request("descriptive_statistics", dataset_id), tenant_id="acme")


def test_the_fakes_satisfy_the_ports() -> None:
    """mypy checks these assignments: a fake that drifts from its port fails the lint."""
    from sextant_tools.domain.ports import DatasetStore, ToolRunner, WebFetcher

    store: DatasetStore = FakeDatasetStore()
    runner: ToolRunner = ScriptedRunner()
    web: WebFetcher = FakeWebFetcher()
    assert DatasetNotFound.code == "dataset_not_found"
    assert all(port is not None for port in (store, runner, web))

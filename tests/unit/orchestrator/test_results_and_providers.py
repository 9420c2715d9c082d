"""Citations built from the workflow state, the provider factory, and the local model."""

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from sextant_orchestrator.application.run_analysis import citations, inline_dataset_id
from sextant_orchestrator.domain.state import AnalysisState
from sextant_orchestrator.infrastructure.llm.local_llama import LOCAL_MODEL_NAME
from sextant_orchestrator.infrastructure.llm.providers import build_call_policy, build_chat_model
from sextant_orchestrator.infrastructure.llm.settings import LlmSettings

pytestmark = pytest.mark.unit


def test_citations_point_at_the_tool_call_or_document_in_order_of_use() -> None:
    state: AnalysisState = {
        "outcomes": [
            {
                "call_id": "T1",
                "tool_name": "group_by_aggregate",
                "arguments": {},
                "result": {"groups": [{"region": "east", "sales": 200.0}]},
                "error": None,
                "duration_ms": 1.0,
            }
        ],
        "passages": [
            {"marker": "D1", "document_id": "memo-2", "title": "", "text": "x" * 500, "score": 0.9}
        ],
        "cited": ["D1", "T1"],
    }
    found = citations(state)
    assert [(c.marker, c.kind, c.source_id) for c in found] == [
        ("[D1]", "document", "memo-2"),
        ("[T1]", "tool", "T1"),
    ]
    assert len(found[0].excerpt) == 300
    assert "east" in found[1].excerpt


def test_inline_dataset_id_is_stable_per_analysis() -> None:
    import uuid

    first, second = uuid.uuid4(), uuid.uuid4()
    assert inline_dataset_id(first) == inline_dataset_id(first)
    assert inline_dataset_id(first) != inline_dataset_id(second)


def test_openai_compatible_needs_a_base_url() -> None:
    with pytest.raises(ValueError, match="LLM_BASE_URL"):
        build_chat_model(LlmSettings(PROVIDER="openai-compatible"))


def test_remote_providers_call_tools_and_leave_retries_to_the_policy() -> None:
    choice = build_chat_model(
        LlmSettings(PROVIDER="openai-compatible", BASE_URL="http://127.0.0.1:9/v1", MODEL="m")
    )
    assert choice.calls_tools
    assert choice.name == "m"
    assert getattr(choice.model, "max_retries", None) == 0
    anthropic = build_chat_model(LlmSettings(PROVIDER="anthropic", API_KEY="sk-test"))
    assert anthropic.calls_tools
    assert getattr(anthropic.model, "max_retries", None) == 0
    policy = build_call_policy(LlmSettings(MAX_ATTEMPTS=3, CALLS_PER_ANALYSIS=5))
    assert (policy.max_attempts, policy.calls_per_analysis) == (3, 5)


async def test_local_model_answers_offline_with_usage() -> None:
    choice = build_chat_model(LlmSettings(PROVIDER="local", MAX_OUTPUT_TOKENS=32))
    assert not choice.calls_tools  # gets the default plan
    assert choice.name == LOCAL_MODEL_NAME
    reply = await choice.model.ainvoke(
        [SystemMessage("Answer in one short sentence."), HumanMessage("What colour is the sky?")]
    )
    assert isinstance(reply, AIMessage)
    assert reply.text.strip()
    assert reply.usage_metadata is not None
    assert 0 < reply.usage_metadata["output_tokens"] <= 32

"""Contracts: validation rules, envelope round trips, catalogue consistency."""

import gc
import uuid
import weakref
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sextant_contracts import (
    TOPICS,
    AnalysisCancellationRequested,
    AnalysisRequested,
    EmbeddingRequested,
    Envelope,
    InlineDataset,
    TraceContext,
    dlq_topic_name,
    topic,
)
from sextant_contracts.datasets import UnreadableRecords, json_records

CSV = InlineDataset(media_type="text/csv", content="x,y\n1,2\n")


def test_analysis_needs_exactly_one_dataset_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        AnalysisRequested(analysis_id=uuid.uuid4(), question="why?")
    with pytest.raises(ValidationError, match="exactly one"):
        AnalysisRequested(
            analysis_id=uuid.uuid4(), question="why?", dataset_id=uuid.uuid4(), inline_dataset=CSV
        )


def test_blank_question_is_rejected() -> None:
    with pytest.raises(ValidationError):
        AnalysisRequested(analysis_id=uuid.uuid4(), question="   ", inline_dataset=CSV)


@pytest.mark.parametrize(
    "field",
    ["question", "inline content", "document text", "document title", "document id", "language"],
)
def test_text_that_postgres_cannot_store_is_rejected(field: str) -> None:
    """U+0000 is refused by PostgreSQL text and jsonb: it must fail validation, not the
    database write after the request was accepted."""
    document = {"document_id": "d1", "title": "t", "text": "body"}
    body: dict[str, object] = {
        "analysis_id": str(uuid.uuid4()),
        "question": "why?",
        "inline_dataset": CSV.model_dump(),
        "documents": [document],
        "options": {"language": "en"},
    }
    nul = "a\x00b"
    match field:
        case "question":
            body["question"] = nul
        case "inline content":
            body["inline_dataset"] = {"media_type": "text/csv", "content": nul}
        case "document text":
            document["text"] = nul
        case "document title":
            document["title"] = nul
        case "document id":
            document["document_id"] = nul
        case "language":
            body["options"] = {"language": "e\x00n"}
    with pytest.raises(ValidationError, match="NUL character"):
        AnalysisRequested.model_validate(body)


def test_cancellation_reason_with_nul_is_rejected() -> None:
    with pytest.raises(ValidationError, match="NUL character"):
        AnalysisCancellationRequested(analysis_id=uuid.uuid4(), reason="stop\x00")


def test_envelope_requires_a_timezone() -> None:
    request = AnalysisRequested(analysis_id=uuid.uuid4(), question="q", inline_dataset=CSV)
    with pytest.raises(ValidationError, match="timezone"):
        Envelope[AnalysisRequested](
            event_type="AnalysisRequested",
            tenant_id="t",
            payload=request,
            occurred_at=datetime(2026, 1, 1),
        )


def test_trace_context_must_be_w3c_traceparent() -> None:
    TraceContext(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    with pytest.raises(ValidationError):
        TraceContext(traceparent="not-a-traceparent")


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    request = AnalysisRequested(analysis_id=uuid.uuid4(), question="q", inline_dataset=CSV)
    data = Envelope.wrap(request, tenant_id="t").model_dump(mode="json")
    data["added_in_a_later_version"] = 1
    data["payload"]["also_new"] = "x"
    assert Envelope[AnalysisRequested].model_validate(data).payload == request


def test_embedding_request_is_a_discriminated_union() -> None:
    parsed = EmbeddingRequested.model_validate(
        {
            "request_id": str(uuid.uuid4()),
            "task": {"operation": "rank", "query": "q", "passages": ["a"]},
        }
    )
    assert parsed.task.operation == "rank"
    with pytest.raises(ValidationError):
        EmbeddingRequested.model_validate(
            {"request_id": str(uuid.uuid4()), "task": {"operation": "embed", "texts": []}}
        )


@given(
    question=st.text(
        # No lone surrogates: UTF-8 cannot carry them, and the contract refuses them
        # (its pattern is matched on the string as UTF-8).
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=200,
    ).filter(lambda s: s.strip()),
    tenant=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z"),
    max_tool_calls=st.integers(0, 32),
)
def test_envelope_round_trips_through_json(question: str, tenant: str, max_tool_calls: int) -> None:
    request = AnalysisRequested.model_validate(
        {
            "analysis_id": str(uuid.uuid4()),
            "question": question,
            "inline_dataset": CSV.model_dump(),
            "options": {"max_tool_calls": max_tool_calls},
        }
    )
    envelope = Envelope.wrap(request, tenant_id=tenant, correlation_id=str(request.analysis_id))
    assert envelope.event_type == "AnalysisRequested"
    assert Envelope[AnalysisRequested].model_validate_json(envelope.model_dump_json()) == envelope


def test_catalogue_names_are_unique_and_versioned() -> None:
    names = [spec.name for spec in TOPICS]
    assert len(names) == len(set(names))
    assert all(name.endswith(".v1") for name in names)
    assert all(spec.partitions >= 1 for spec in TOPICS)


def test_catalogue_lookup_and_companion_topics() -> None:
    spec = topic("analysis.requested.v1")
    assert spec.payload is AnalysisRequested
    assert spec.dlq_topic == dlq_topic_name(spec.name) == "analysis.requested.v1.dlq"
    with pytest.raises(KeyError, match="not in the catalogue"):
        topic("nope.v1")


def test_wrap_reuses_its_envelope_class_across_garbage_collections() -> None:
    """pydantic caches parametrised generics weakly; rebuilding one per wrap after each
    collection cost ~1.3 ms, so wrap keeps its own."""
    request = AnalysisRequested(analysis_id=uuid.uuid4(), question="why?", inline_dataset=CSV)
    first = weakref.ref(type(Envelope.wrap(request, tenant_id="t")))
    gc.collect()
    assert first() is not None, "the envelope class was collected"
    assert type(Envelope.wrap(request, tenant_id="t")) is first()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": 1}', "list of records"),
        ("[1, 2]", "list of records"),
        ("[{", "not valid JSON"),
        ("[]", "no records"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_a_json_dataset_is_a_non_empty_array_of_objects(text: str, reason: str) -> None:
    """One rule for the ingress (upload) and the tools (load), with the reason said."""
    with pytest.raises(UnreadableRecords, match=reason):
        json_records(text)
    assert json_records('[{"a": 1}, {"b": [2]}]') == [{"a": 1}, {"b": [2]}]

"""The ingress's use cases over fakes of its own ports: every path, no servers."""

import uuid
from typing import Any

import pytest

from sextant_contracts import AnalysisSubmission
from sextant_contracts.status import AnalysisStatus
from sextant_ingress.application.cancel_analysis import CancelAnalysis
from sextant_ingress.application.submit_analysis import SubmitAnalysis
from sextant_ingress.application.upload_dataset import ListDatasets, UploadDataset
from sextant_ingress.application.views import AnalysisViews
from sextant_ingress.domain.datasets import DatasetLimits, DatasetTooLarge, DatasetUnreadable
from sextant_ingress.domain.submissions import (
    IdempotencyConflict,
    NotCancellable,
    NotFound,
    SubmissionTooLarge,
)
from tests.unit.ingress.fakes import FakeAnalyses, FakeDatasets

BODY: dict[str, Any] = {
    "question": "Which region sells most?",
    "inline_dataset": {"media_type": "text/csv", "content": "region,sales\nn,1\n"},
}


def _submission(body: dict[str, Any] = BODY) -> AnalysisSubmission:
    return AnalysisSubmission.model_validate(body)


async def test_a_submission_becomes_a_request_with_a_new_id() -> None:
    analyses = FakeAnalyses()
    submit = SubmitAnalysis(analyses)

    first = await submit(_submission(), tenant_id="acme", idempotency_key=None)
    second = await submit(_submission(), tenant_id="acme", idempotency_key=None)

    assert first.created
    assert second.created
    assert first.analysis_id != second.analysis_id
    assert [r.question for r in analyses.requests] == [BODY["question"]] * 2


async def test_the_same_key_and_body_replay_the_first_submission() -> None:
    analyses = FakeAnalyses()
    submit = SubmitAnalysis(analyses)

    first = await submit(_submission(), tenant_id="acme", idempotency_key="k1")
    again = await submit(_submission(), tenant_id="acme", idempotency_key="k1")

    assert again.analysis_id == first.analysis_id
    assert not again.created
    assert len(analyses.requests) == 1


async def test_the_same_key_with_another_body_is_a_conflict() -> None:
    submit = SubmitAnalysis(FakeAnalyses())
    await submit(_submission(), tenant_id="acme", idempotency_key="k1")
    other = {**BODY, "question": "Something else?"}

    with pytest.raises(IdempotencyConflict):
        await submit(_submission(other), tenant_id="acme", idempotency_key="k1")


async def test_the_same_request_spelled_differently_replays() -> None:
    """The key guards the request as validated, not its bytes: defaults spelled out
    and white space around the question make the same request."""
    submit = SubmitAnalysis(FakeAnalyses())
    first = await submit(_submission(), tenant_id="acme", idempotency_key="k1")
    spelled_out = {**BODY, "question": f"  {BODY['question']} ", "documents": [], "options": {}}

    again = await submit(_submission(spelled_out), tenant_id="acme", idempotency_key="k1")

    assert again.analysis_id == first.analysis_id
    assert not again.created


async def test_another_tenant_may_use_the_same_key() -> None:
    submit = SubmitAnalysis(FakeAnalyses())
    mine = await submit(_submission(), tenant_id="acme", idempotency_key="k1")
    theirs = await submit(_submission(), tenant_id="globex", idempotency_key="k1")
    assert theirs.created
    assert theirs.analysis_id != mine.analysis_id


async def test_a_submission_too_large_for_its_event_is_refused() -> None:
    submit = SubmitAnalysis(FakeAnalyses(max_request_bytes=100))
    with pytest.raises(SubmissionTooLarge):
        await submit(_submission(), tenant_id="acme", idempotency_key=None)


async def test_cancel_sends_the_command_until_the_analysis_ends() -> None:
    analyses = FakeAnalyses()
    accepted = await SubmitAnalysis(analyses)(_submission(), tenant_id="acme", idempotency_key=None)
    cancel = CancelAnalysis(analyses)

    await cancel(accepted.analysis_id, tenant_id="acme", reason="changed my mind")
    assert analyses.cancels == [(accepted.analysis_id, "changed my mind")]

    analyses.finish("acme", accepted.analysis_id, AnalysisStatus.COMPLETED)
    with pytest.raises(NotCancellable):
        await cancel(accepted.analysis_id, tenant_id="acme", reason="too late")


async def test_another_tenants_analysis_is_not_found() -> None:
    analyses = FakeAnalyses()
    accepted = await SubmitAnalysis(analyses)(_submission(), tenant_id="acme", idempotency_key=None)
    with pytest.raises(NotFound):
        await CancelAnalysis(analyses)(accepted.analysis_id, tenant_id="globex", reason="x")
    with pytest.raises(NotFound):
        await AnalysisViews(analyses).one(accepted.analysis_id, tenant_id="globex")
    page, _ = await AnalysisViews(analyses).page(
        tenant_id="globex", status=None, limit=10, cursor=None
    )
    assert page == []


async def test_views_page_by_status() -> None:
    analyses = FakeAnalyses()
    submit = SubmitAnalysis(analyses)
    ids = [
        (await submit(_submission(), tenant_id="acme", idempotency_key=None)).analysis_id
        for _ in range(3)
    ]
    analyses.finish("acme", ids[1], AnalysisStatus.FAILED)
    views = AnalysisViews(analyses)

    failed, _ = await views.page(tenant_id="acme", status="failed", limit=10, cursor=None)
    first, cursor = await views.page(tenant_id="acme", status=None, limit=2, cursor=None)
    rest, end = await views.page(tenant_id="acme", status=None, limit=2, cursor=cursor)

    assert [v.analysis_id for v in failed] == [ids[1]]
    assert len(first) == 2
    assert len(rest) == 1
    assert end is None


LIMITS = DatasetLimits(max_bytes=1_000, max_rows=3)


async def test_an_upload_is_measured_and_stored() -> None:
    datasets = FakeDatasets()
    stored = await UploadDataset(datasets, LIMITS)(
        tenant_id="acme", media_type="text/csv", content=b"a,b\n1,2\n3,4\n"
    )
    assert (stored.rows, stored.columns, stored.size_bytes) == (2, 2, 12)
    assert datasets.stored[stored.dataset_id][0] == "acme"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("sales.csv", "sales.csv"),
        ("C:\\Users\\me\\q3 sales.csv", "q3 sales.csv"),  # a browser's full path: its file
        ("/tmp/../x.json", "x.json"),
        ("bad\x00\x1bname.csv", "badname.csv"),  # control characters dropped
        ("  \t ", None),
        ("n" * 300, "n" * 255),
        (None, None),
    ],
)
async def test_an_upload_keeps_a_clean_name_and_its_shape_to_be_listed_by(
    given: str | None, kept: str | None
) -> None:
    datasets = FakeDatasets()
    stored = await UploadDataset(datasets, LIMITS)(
        tenant_id="acme", media_type="text/csv", content=b"a,b\n1,2\n", name=given
    )
    assert stored.name == kept
    (listed,), _ = await ListDatasets(datasets)(tenant_id="acme", limit=5, cursor=None)
    assert (listed.dataset_id, listed.name, listed.rows, listed.columns) == (
        stored.dataset_id,
        kept,
        1,
        2,
    )


async def test_datasets_are_listed_per_tenant_newest_first_a_page_at_a_time() -> None:
    datasets = FakeDatasets()
    upload, listing = UploadDataset(datasets, LIMITS), ListDatasets(datasets)
    ids = [
        (await upload(tenant_id="acme", media_type="text/csv", content=b"a\n1\n")).dataset_id
        for _ in range(3)
    ]
    await upload(tenant_id="other", media_type="text/csv", content=b"a\n1\n")
    first, cursor = await listing(tenant_id="acme", limit=2, cursor=None)
    rest, end = await listing(tenant_id="acme", limit=2, cursor=cursor)
    assert [d.dataset_id for d in first + rest] == ids[::-1]
    assert end is None


@pytest.mark.parametrize(
    ("content", "rows", "columns"),
    [
        (b"a,b\n", 0, 2),  # a header alone is an empty dataset
        (b"\n\na,b\n\n1,2\n\n", 1, 2),  # blank lines skipped, as pandas does
        (b'"a\nb",c\n1,2', 1, 2),  # a quoted line break stays in its field
        (b"x" * 200_000 + b"\n1", 1, 1),  # a field longer than csv's default limit
    ],
)
async def test_any_text_with_a_header_is_a_csv_dataset(
    content: bytes, rows: int, columns: int
) -> None:
    stored = await UploadDataset(FakeDatasets(), DatasetLimits(max_bytes=10**6, max_rows=9))(
        tenant_id="acme", media_type="text/csv", content=content
    )
    assert (stored.rows, stored.columns) == (rows, columns)


@pytest.mark.parametrize(
    ("media_type", "content", "error", "says"),
    [
        ("text/csv", b"a,b\n" + b"1,2\n" * 4, DatasetTooLarge, "4 rows; the limit is 3"),
        ("text/csv", b"a," * 600, DatasetTooLarge, "the limit is 1000 bytes"),
        ("text/csv", b" \r\n\t\n", DatasetUnreadable, "needs at least a header row"),
        ("text/csv", b"a,b\n1,\x00\n", DatasetUnreadable, "NUL"),
        ("text/csv", b"a\n\xff\n", DatasetUnreadable, "not UTF-8"),
        ("application/json", b'{"a": 1}', DatasetUnreadable, "list of records"),
        ("application/json", b"[]", DatasetUnreadable, "no records"),
        ("application/json", b"[{", DatasetUnreadable, "not valid JSON"),
    ],
)
async def test_an_upload_over_a_limit_or_unreadable_is_refused_and_not_stored(
    media_type: str, content: bytes, error: type[Exception], says: str
) -> None:
    datasets = FakeDatasets()
    with pytest.raises(error, match=says):
        await UploadDataset(datasets, LIMITS)(
            tenant_id="acme",
            media_type=media_type,  # type: ignore[arg-type]
            content=content,
        )
    assert datasets.stored == {}


def test_the_fakes_satisfy_the_ports() -> None:
    """mypy checks these assignments: a fake that drifts from its port fails the lint."""
    from sextant_ingress.application.ports import AnalysisReads, AnalysisSubmissions, Datasets

    submissions: AnalysisSubmissions = FakeAnalyses()
    reads: AnalysisReads = FakeAnalyses()
    datasets: Datasets = FakeDatasets()
    assert all(x is not None for x in (submissions, reads, datasets, uuid))

"""``/v1/analyses``: submit, fetch, list and cancel (the event stream is its own router)."""

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from sextant_contracts import (
    AnalysisInterrupted,
    AnalysisSubmission,
    Chart,
    Citation,
    Finding,
    TokenUsage,
    ToolCallRecord,
)
from sextant_contracts.analysis import ONE_DATASET_SOURCE, CancelReason
from sextant_contracts.interrupts import InvalidResponse
from sextant_contracts.status import AnalysisStatus, AnalysisStatusName
from sextant_ingress.application.cancel_analysis import CancelAnalysis
from sextant_ingress.application.resume_analysis import ResumeAnalysis
from sextant_ingress.application.submit_analysis import SubmitAnalysis
from sextant_ingress.application.views import AnalysisViews
from sextant_ingress.domain.paging import CURSOR_PATTERN
from sextant_ingress.domain.submissions import (
    Accepted,
    AnalysisView,
    IdempotencyConflict,
    NotCancellable,
    NotFound,
    NotResumable,
    SubmissionTooLarge,
)
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.metrics import ANALYSES_SUBMITTED
from sextant_ingress.presentation.problems import ApiProblem, problem_responses


class SubmissionBody(AnalysisSubmission):
    """The REST body: events tolerate unknown fields (forward compatibility); a client's
    unknown field is a typo worth a 422."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **ONE_DATASET_SOURCE,
            "examples": [
                {
                    "question": "Which region has the highest total sales?",
                    "dataset_id": "5b0c7a3e-2f6d-4f0a-9d0e-1c2b3a4d5e6f",
                },
                {
                    "question": "What is the average price per category?",
                    "inline_dataset": {
                        "media_type": "text/csv",
                        "content": "category,price\nbooks,12.5\ngames,40\nbooks,7.5\n",
                    },
                    "options": {"max_rounds": 3},
                },
            ],
        },
    )


IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=255,
        description="Any text up to 255 characters. The same key with the same submission"
        " returns the first analysis (202 again, no new one); with another submission, 409.",
        examples=["order-2026-12-02-0001"],
    ),
]

LINKS_TO_ANALYSIS = {
    verb: {
        "operationId": operation,
        "parameters": {"analysis_id": "$response.body#/analysis_id"},
        "description": description,
    }
    for verb, operation, description in (
        ("fetch", "fetch_analysis", "The analysis just accepted."),
        ("follow", "follow_analysis", "Its progress events, then its terminal event."),
        ("cancel", "cancel_analysis", "Stop it at its next step boundary."),
    )
}


class AcceptedOut(BaseModel):
    analysis_id: UUID
    status: AnalysisStatusName = AnalysisStatus.ACCEPTED.value
    links: dict[str, str]


class AnalysisOut(BaseModel):
    """An analysis as the API shows it (read straight from the stored view); its parts
    are the contracts' own shapes, the ones the terminal events carry."""

    model_config = ConfigDict(from_attributes=True)

    analysis_id: UUID
    status: AnalysisStatusName
    question: str
    answer: str | None
    citations: list[Citation]
    ungrounded_numbers: list[str] = Field(
        description="Numbers in the answer that no tool result, passage or the question"
        " contains: treat them as unverified."
    )
    ungrounded_values: list[str] = Field(
        description="Names in the answer (categories, places, columns) that no tool result,"
        " passage, the dataset's profile or the question contains: treat them as unverified."
    )
    findings: list[Finding] = Field(
        description="What the tool results say, one statement each: values, the tool call"
        " that computed them (call_id) and the path of each value in that call's result."
    )
    tool_calls: list[ToolCallRecord]
    usage: TokenUsage
    timings_ms: dict[str, Any]
    error: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None
    charts: list[Chart] = Field(
        default_factory=list,
        description="Its tool results drawn as Vega-Lite specifications (data inline, each"
        " naming the tool call behind it), once it completed.",
    )
    interrupt: AnalysisInterrupted | None = Field(
        default=None,
        description="While it is interrupted: what it asks (prompt, options) and the JSON"
        " Schema an answer must meet; answer with POST /v1/analyses/{id}/resume.",
    )
    thread_id: UUID | None = Field(
        default=None,
        description="The thread (conversation) it was asked in; ask a follow-up with"
        " POST /v1/threads/{thread_id}/analyses.",
    )

    @classmethod
    def of(cls, view: AnalysisView) -> "AnalysisOut":
        return cls.model_validate(view)


class AnalysisPage(BaseModel):
    items: list[AnalysisOut]
    next_cursor: str | None


class CancelBody(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "wrong dataset"}]})

    reason: CancelReason = "cancelled by user"


class ResumeBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"response": {"choice": "precipitation_mm"}}]}
    )

    interrupt_id: UUID | None = Field(
        default=None,
        description="The interrupt answered (unset: the one the analysis waits on now).",
    )
    response: dict[str, JsonValue] = Field(
        description="The answer, meeting the interrupt's response_schema."
    )


class ResumingOut(BaseModel):
    analysis_id: UUID
    interrupt_id: UUID
    status: Literal["resuming"] = "resuming"


class CancellingOut(BaseModel):
    analysis_id: UUID
    status: Literal["cancelling"] = "cancelling"


async def accept(submitting: Awaitable[Accepted], response: Response) -> AcceptedOut:
    """A submission's answer: 202 with its links, or the problem it ran into."""
    try:
        accepted = await submitting
    except IdempotencyConflict as error:
        raise ApiProblem(409, "Idempotency key reused", str(error)) from error
    except SubmissionTooLarge as error:
        raise ApiProblem(
            413,
            "Request too large",
            f"{error}: upload the data with POST /v1/datasets and pass its dataset_id,"
            " or attach fewer or shorter documents",
        ) from error
    ANALYSES_SUBMITTED.labels("accepted" if accepted.created else "replayed").inc()
    location = f"/v1/analyses/{accepted.analysis_id}"
    response.headers["Location"] = location
    return AcceptedOut(
        analysis_id=accepted.analysis_id,
        links={"self": location, "cancel": f"{location}/cancel"},
    )


def analyses_router(
    submit: SubmitAnalysis, cancel: CancelAnalysis, resume: ResumeAnalysis, views: AnalysisViews
) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/analyses",
        status_code=202,
        response_model=AcceptedOut,
        operation_id="submit_analysis",
        summary="Ask a question about a dataset",
        responses={
            202: {"description": "Accepted; it will end.", "links": LINKS_TO_ANALYSIS},
            **problem_responses(409, 413),
        },
    )
    async def submit_analysis(
        submission: Annotated[SubmissionBody, Body()],
        response: Response,
        tenant_id: Tenant,
        idempotency_key: IdempotencyKey = None,
    ) -> AcceptedOut:
        """Accept an analysis: answered once it and its request event are stored; it
        always ends (completed, failed or cancelled), and its links say how to follow it."""
        return await accept(
            submit(submission, tenant_id=tenant_id, idempotency_key=idempotency_key), response
        )

    @router.get(
        "/v1/analyses/{analysis_id}",
        response_model=AnalysisOut,
        operation_id="fetch_analysis",
        summary="An analysis: its status, and its answer once it has one",
        responses=problem_responses(404),
    )
    async def fetch(analysis_id: UUID, tenant_id: Tenant) -> AnalysisOut:
        try:
            return AnalysisOut.of(await views.one(analysis_id, tenant_id=tenant_id))
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error

    @router.get(
        "/v1/analyses",
        response_model=AnalysisPage,
        operation_id="list_analyses",
        summary="Your analyses, newest first",
        responses=problem_responses(),
    )
    async def listing(
        tenant_id: Tenant,
        status: Annotated[
            AnalysisStatusName | None, Query(description="Only analyses in this status.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
        cursor: Annotated[
            str | None,
            Query(
                pattern=CURSOR_PATTERN,
                description="The previous page's next_cursor: the page continues after it."
                " Any value of this form is a position in the list (one no analysis"
                " has simply continues from where it would be).",
                examples=["AAYH3q1iNIDm2dwIYxNEPb0yq1NwIyPK"],
            ),
        ] = None,
    ) -> AnalysisPage:
        found, next_cursor = await views.page(
            tenant_id=tenant_id, status=status, limit=limit, cursor=cursor
        )
        return AnalysisPage(items=[AnalysisOut.of(v) for v in found], next_cursor=next_cursor)

    @router.post(
        "/v1/analyses/{analysis_id}/cancel",
        status_code=202,
        response_model=CancellingOut,
        operation_id="cancel_analysis",
        summary="Stop an analysis at its next step boundary",
        responses=problem_responses(404, 409, 413),
    )
    async def cancel_analysis(
        analysis_id: UUID, tenant_id: Tenant, body: CancelBody | None = None
    ) -> CancellingOut:
        """Ask a running analysis to stop; it ends ``cancelled`` (or, if it finished
        first, as it finished). 409 when it has already ended."""
        reason = (body or CancelBody()).reason
        try:
            await cancel(analysis_id, tenant_id=tenant_id, reason=reason)
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error
        except NotCancellable as error:
            raise ApiProblem(409, "Not cancellable", str(error)) from error
        return CancellingOut(analysis_id=analysis_id)

    @router.post(
        "/v1/analyses/{analysis_id}/resume",
        status_code=202,
        response_model=ResumingOut,
        operation_id="resume_analysis",
        summary="Answer an interrupted analysis; it resumes where it paused",
        responses=problem_responses(404, 409, 413),
    )
    async def resume_analysis(
        analysis_id: UUID, tenant_id: Tenant, body: ResumeBody
    ) -> ResumingOut:
        """Answer the interrupt the analysis waits on (its ``interrupt`` says what it asks
        and the schema an answer meets). 409 when it is not interrupted, or waits on
        another interrupt than the one named; 422 when the response does not meet the
        schema (it stays interrupted)."""
        try:
            answered = await resume(
                analysis_id,
                tenant_id=tenant_id,
                interrupt_id=body.interrupt_id,
                response=body.response,
            )
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error
        except NotResumable as error:
            raise ApiProblem(409, "Not waiting for this answer", str(error)) from error
        except InvalidResponse as error:
            raise ApiProblem(422, "Invalid response", str(error)) from error
        return ResumingOut(analysis_id=analysis_id, interrupt_id=answered)

    return router

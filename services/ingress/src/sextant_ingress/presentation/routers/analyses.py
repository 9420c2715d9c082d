"""``/v1/analyses``: submit, fetch, list and cancel (the event stream is its own router)."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sextant_contracts import (
    AnalysisSubmission,
    Citation,
    Finding,
    TokenUsage,
    ToolCallRecord,
)
from sextant_contracts.analysis import CancelReason
from sextant_contracts.errors import describe_validation_error
from sextant_contracts.status import AnalysisStatus, AnalysisStatusName
from sextant_ingress.application.cancel_analysis import CancelAnalysis
from sextant_ingress.application.submit_analysis import SubmitAnalysis
from sextant_ingress.application.views import AnalysisViews
from sextant_ingress.domain.submissions import (
    AnalysisView,
    IdempotencyConflict,
    NotCancellable,
    NotFound,
    SubmissionTooLarge,
)
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.metrics import ANALYSES_SUBMITTED
from sextant_ingress.presentation.problems import ApiProblem, problem_responses


class SubmissionBody(AnalysisSubmission):
    """The REST body: events tolerate unknown fields (forward compatibility); a client's
    unknown field is a typo worth a 422."""

    model_config = ConfigDict(extra="forbid")


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

    @classmethod
    def of(cls, view: AnalysisView) -> "AnalysisOut":
        return cls.model_validate(view)


class AnalysisPage(BaseModel):
    items: list[AnalysisOut]
    next_cursor: str | None


class CancelBody(BaseModel):
    reason: CancelReason = "cancelled by user"


def analyses_router(
    submit: SubmitAnalysis, cancel: CancelAnalysis, views: AnalysisViews
) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/analyses",
        status_code=202,
        response_model=AcceptedOut,
        responses=problem_responses(409, 413),
    )
    async def submit_analysis(
        body: dict[str, Any],
        response: Response,
        tenant_id: Tenant,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ) -> AcceptedOut:
        try:
            submission = SubmissionBody.model_validate(body)
        except ValidationError as error:
            detail = describe_validation_error(error)
            raise ApiProblem(422, "Invalid request", detail) from error
        try:
            accepted = await submit(
                submission, body=body, tenant_id=tenant_id, idempotency_key=idempotency_key
            )
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

    @router.get(
        "/v1/analyses/{analysis_id}", response_model=AnalysisOut, responses=problem_responses(404)
    )
    async def fetch(analysis_id: UUID, tenant_id: Tenant) -> AnalysisOut:
        try:
            return AnalysisOut.of(await views.one(analysis_id, tenant_id=tenant_id))
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error

    @router.get("/v1/analyses", response_model=AnalysisPage, responses=problem_responses())
    async def listing(
        tenant_id: Tenant,
        status: AnalysisStatusName | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> AnalysisPage:
        try:
            found, next_cursor = await views.page(
                tenant_id=tenant_id, status=status, limit=limit, cursor=cursor
            )
        except ValueError as error:
            raise ApiProblem(422, "Invalid request", str(error)) from error
        return AnalysisPage(items=[AnalysisOut.of(v) for v in found], next_cursor=next_cursor)

    @router.post(
        "/v1/analyses/{analysis_id}/cancel",
        status_code=202,
        responses=problem_responses(404, 409, 413),
    )
    async def cancel_analysis(
        analysis_id: UUID, tenant_id: Tenant, body: CancelBody | None = None
    ) -> dict[str, Any]:
        reason = (body or CancelBody()).reason
        try:
            await cancel(analysis_id, tenant_id=tenant_id, reason=reason)
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error
        except NotCancellable as error:
            raise ApiProblem(409, "Not cancellable", str(error)) from error
        return {"analysis_id": str(analysis_id), "status": "cancelling"}

    return router

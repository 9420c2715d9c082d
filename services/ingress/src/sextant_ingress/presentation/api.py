"""The REST API: submit, fetch, list and cancel analyses; upload datasets; probes.

Every error is an RFC 9457 problem document (``application/problem+json``); every
malformed input is a 4xx that says what is wrong. A 202 is returned only after the
request and its event are committed to PostgreSQL (see ``PostgresAnalysisStore.submit``).
"""

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sextant_contracts import AnalysisRequested, AnalysisSubmission
from sextant_contracts.analysis import CancelReason
from sextant_contracts.errors import describe_validation_error
from sextant_contracts.status import AnalysisStatusName
from sextant_ingress.domain.submissions import (
    AnalysisView,
    IdempotencyConflict,
    NotCancellable,
    NotFound,
    fingerprint,
)
from sextant_ingress.infrastructure.postgres_analyses import PostgresAnalysisStore
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.event_stream import EventFeed, event_stream_router
from sextant_ingress.presentation.metrics import ANALYSES_SUBMITTED, DATASETS_UPLOADED_BYTES
from sextant_ingress.presentation.problems import ApiProblem, problem, problem_responses
from sextant_platform.database.datasets import insert_dataset
from sextant_platform.fatal import failures
from sextant_platform.health import ReadinessCheck, run_checks
from sextant_platform.metrics import HttpMetrics, metrics_endpoint
from sextant_platform.outbox import EventTooLarge

Status = AnalysisStatusName


class BodyLimit:
    """Refuse bodies over the limit *before* reading them (Content-Length), and stop
    reading a chunked body as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, *, default_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.upload_bytes = upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if scope["path"] == "/v1/datasets" else self.default_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_large = problem(413, "Payload too large", f"the body limit is {limit} bytes")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise ApiProblem(413, "Payload too large", f"the body limit is {limit} bytes")
            return message

        await self.app(scope, limited, send)


class SubmitAnalysis(AnalysisSubmission):
    """The REST body: events tolerate unknown fields (forward compatibility); a client's
    unknown field is a typo worth a 422."""

    model_config = ConfigDict(extra="forbid")


class Accepted(BaseModel):
    analysis_id: UUID
    status: Status = "accepted"
    links: dict[str, str]


class AnalysisOut(BaseModel):
    """An analysis as the API shows it (read straight from the stored view)."""

    model_config = ConfigDict(from_attributes=True)

    analysis_id: UUID
    status: Status
    question: str
    answer: str | None
    citations: list[dict[str, Any]]
    ungrounded_numbers: list[str] = Field(
        description="Numbers in the answer that no tool result, passage or the question"
        " contains: treat them as unverified."
    )
    ungrounded_values: list[str] = Field(
        description="Names in the answer (categories, places, columns) that no tool result,"
        " passage, the dataset's profile or the question contains: treat them as unverified."
    )
    findings: list[dict[str, Any]] = Field(
        description="What the tool results say, one statement each: values, the tool call"
        " that computed them (call_id) and the path of each value in that call's result."
    )
    tool_calls: list[dict[str, Any]]
    usage: dict[str, Any]
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


class DatasetOut(BaseModel):
    dataset_id: UUID
    media_type: str
    size_bytes: int
    sha256: str
    rows: int
    columns: int


def _measure(media_type: str, content: bytes) -> tuple[int, int]:
    """(rows, columns) of an upload; ValueError with a readable reason when malformed."""
    try:
        decoded = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"the dataset is not UTF-8 (byte {error.start})") from error
    if media_type == "text/csv":
        reader = csv.reader(io.StringIO(decoded, newline=""))
        try:
            header = next(reader, None)
            data_rows = sum(1 for _ in reader)
        except csv.Error as error:
            raise ValueError(f"the CSV is malformed (line {reader.line_num}): {error}") from error
        if header is None or data_rows == 0:
            raise ValueError("a CSV dataset needs a header row and at least one data row")
        return data_rows, len(header)
    try:
        records = json.loads(decoded)
    except json.JSONDecodeError as error:
        raise ValueError(f"the dataset is not valid JSON: {error}") from error
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("a JSON dataset is a list of records (objects)")
    if not records:
        raise ValueError("the JSON dataset has no records")
    return len(records), len({key for record in records for key in record})


def create_app(
    *,
    store: PostgresAnalysisStore,
    keys: PostgresApiKeys,
    feed: EventFeed,
    engine: Any,
    checks: Mapping[str, ReadinessCheck],
    max_body_bytes: int = 1_048_576,
    max_dataset_bytes: int = 50 * 1024 * 1024,
    max_dataset_rows: int = 1_000_000,
) -> FastAPI:
    app = FastAPI(
        title="Sextant ingress",
        version="1",
        description="Submit, follow, fetch, list and cancel data analyses.",
    )
    app.state.keys = keys
    app.include_router(event_stream_router(store, feed))

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, error: ApiProblem) -> JSONResponse:
        return problem(error.status, error.title, error.detail, str(request.url.path))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        return problem(422, "Invalid request", details[:2000], str(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:  # FastAPI's "error parsing the body": malformed input
            detail = f"the body could not be parsed: {error.detail}"
            return problem(422, "Invalid request", detail, str(request.url.path))
        return problem(error.status_code, "HTTP error", str(error.detail), str(request.url.path))

    @app.post(
        "/v1/analyses",
        status_code=202,
        response_model=Accepted,
        responses=problem_responses(409, 413),
    )
    async def submit(
        body: dict[str, Any],
        response: Response,
        tenant_id: Tenant,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ) -> Accepted:
        try:
            submission = SubmitAnalysis.model_validate(body)
        except ValueError as error:
            raise ApiProblem(422, "Invalid request", _describe(error)) from error
        request = AnalysisRequested(analysis_id=uuid.uuid4(), **dict(submission))
        try:
            accepted = await store.submit(
                request,
                tenant_id=tenant_id,
                idempotency_key=idempotency_key,
                request_hash=fingerprint(body),
                correlation_id=None,
            )
        except IdempotencyConflict as error:
            raise ApiProblem(409, "Idempotency key reused", str(error)) from error
        except EventTooLarge as error:
            raise ApiProblem(
                413,
                "Request too large",
                f"{error}: upload the data with POST /v1/datasets and pass its dataset_id,"
                " or attach fewer or shorter documents",
            ) from error
        ANALYSES_SUBMITTED.labels("accepted" if accepted.created else "replayed").inc()
        location = f"/v1/analyses/{accepted.analysis_id}"
        response.headers["Location"] = location
        return Accepted(
            analysis_id=accepted.analysis_id,
            links={"self": location, "cancel": f"{location}/cancel"},
        )

    @app.get(
        "/v1/analyses/{analysis_id}", response_model=AnalysisOut, responses=problem_responses(404)
    )
    async def fetch(analysis_id: UUID, tenant_id: Tenant) -> AnalysisOut:
        try:
            return AnalysisOut.of(await store.get(analysis_id, tenant_id=tenant_id))
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error

    @app.get("/v1/analyses", response_model=AnalysisPage, responses=problem_responses())
    async def listing(
        tenant_id: Tenant,
        status: Status | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> AnalysisPage:
        try:
            views, next_cursor = await store.list(
                tenant_id=tenant_id, status=status, limit=limit, cursor=cursor
            )
        except ValueError as error:
            raise ApiProblem(422, "Invalid request", str(error)) from error
        return AnalysisPage(items=[AnalysisOut.of(v) for v in views], next_cursor=next_cursor)

    @app.post(
        "/v1/analyses/{analysis_id}/cancel",
        status_code=202,
        responses=problem_responses(404, 409, 413),
    )
    async def cancel(
        analysis_id: UUID, tenant_id: Tenant, body: CancelBody | None = None
    ) -> dict[str, Any]:
        reason = (body or CancelBody()).reason
        try:
            await store.request_cancel(analysis_id, tenant_id=tenant_id, reason=reason)
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error
        except NotCancellable as error:
            raise ApiProblem(409, "Not cancellable", str(error)) from error
        return {"analysis_id": str(analysis_id), "status": "cancelling"}

    @app.post(
        "/v1/datasets",
        status_code=201,
        response_model=DatasetOut,
        responses=problem_responses(413, 415),
        openapi_extra={"requestBody": UPLOAD_BODY},
    )
    async def upload(
        request: Request,
        tenant_id: Tenant,
        content_type: Annotated[str, Header()] = "",
    ) -> DatasetOut:
        """Store a dataset: the raw body (text/csv or application/json records), or a
        multipart/form-data form whose ``file`` part is one of those."""
        media_type, content = await _dataset_from(request, content_type)
        if len(content) > max_dataset_bytes:
            raise ApiProblem(413, "Payload too large", f"the limit is {max_dataset_bytes} bytes")
        try:
            rows, columns = await asyncio.to_thread(_measure, media_type, content)  # CPU-bound
        except ValueError as error:
            raise ApiProblem(422, "Unreadable dataset", str(error)) from error
        if rows > max_dataset_rows:
            raise ApiProblem(413, "Too many rows", f"{rows} rows; the limit is {max_dataset_rows}")
        dataset_id = uuid.uuid4()
        sha256, _ = await insert_dataset(
            engine,
            dataset_id=dataset_id,
            tenant_id=tenant_id,
            media_type=media_type,
            content=content,
        )
        DATASETS_UPLOADED_BYTES.inc(len(content))
        return DatasetOut(
            dataset_id=dataset_id,
            media_type=media_type,
            size_bytes=len(content),
            sha256=sha256,
            rows=rows,
            columns=columns,
        )

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        dead = failures()  # a must-run loop (the event recorder's) died
        if dead:
            return JSONResponse({"status": "failed", "failures": dead}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results = await run_checks(checks, timeout_s=2.0)
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results},
            status_code=200 if ready else 503,
        )

    # Body limits inside the app, so a limit hit while streaming the body becomes a
    # problem response through the exception handlers; metrics outermost, to see all.
    app.add_middleware(BodyLimit, default_bytes=max_body_bytes, upload_bytes=max_dataset_bytes)
    app.add_middleware(HttpMetrics)
    return app


DATASET_TYPES = ("text/csv", "application/json")
UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


def _media_type(content_type: str | None, filename: str | None = None) -> str | None:
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared in DATASET_TYPES:
        return declared
    suffix = (filename or "").lower().rsplit(".", 1)[-1]
    return {"csv": "text/csv", "json": "application/json"}.get(suffix)


async def _dataset_from(request: Request, content_type: str) -> tuple[str, bytes]:
    """(media type, bytes) of an upload, raw or multipart; 415/422 when neither fits."""
    unsupported = ApiProblem(
        415,
        "Unsupported media type",
        "upload text/csv or application/json (records), raw or as the 'file' part of"
        " multipart/form-data",
    )
    if not content_type.lower().startswith("multipart/form-data"):
        media_type = _media_type(content_type)
        if media_type is None:
            raise unsupported
        return media_type, await request.body()
    try:
        form = await request.form(max_files=1, max_fields=10)
    except (AssertionError, ValueError, StarletteHTTPException) as error:
        raise ApiProblem(422, "Invalid request", f"unreadable multipart body: {error}") from error
    part = form.get("file")
    if not isinstance(part, StarletteUploadFile):
        raise ApiProblem(422, "Invalid request", "the multipart form needs a 'file' part")
    media_type = _media_type(part.content_type, part.filename)
    if media_type is None:
        raise unsupported
    return media_type, await part.read()


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return str(describe_validation_error(error))
    return str(error)

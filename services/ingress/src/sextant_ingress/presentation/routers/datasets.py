"""``/v1/datasets``: upload a dataset (raw body or multipart) to analyse by reference."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from sextant_contracts.analysis import VISIBLE_NUL_FREE_PATTERN
from sextant_ingress.application.upload_dataset import ListDatasets, UploadDataset
from sextant_ingress.domain.datasets import (
    DATASET_MEDIA_TYPES,
    MAX_NAME_CHARS,
    DatasetMediaType,
    DatasetTooLarge,
    DatasetUnreadable,
)
from sextant_ingress.domain.paging import CURSOR_PATTERN
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.metrics import DATASETS_UPLOADED_BYTES
from sextant_ingress.presentation.problems import ApiProblem, problem_responses

UPLOAD_PATH = "/v1/datasets"
FORM_UPLOAD_PATH = "/v1/datasets/form"
UPLOAD_PATHS = frozenset({UPLOAD_PATH, FORM_UPLOAD_PATH})
"""Where bodies may be as large as a dataset (every other body has the small limit)."""

_CSV_EXAMPLE = "region,sales\nnorth,120\nsouth,80\n"
_CSV_RULE = (
    "UTF-8 CSV: the first non-blank record is the header, the non-blank records after it"
    " the rows (a header alone is an empty dataset). Any text with something besides white"
    " space in it and no NUL character is read this way."
)
_LIMITS = "Limits: the body's bytes and the rows, as settings say (413 above them)."
RAW_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "description": f"The dataset as the body: CSV or JSON records. {_LIMITS}",
    "content": {
        "text/csv": {
            # No "type": a raw body is text whatever a generator meant it to be; the
            # pattern is the rule (JSON Schema applies it to text, which a body is).
            "schema": {"pattern": VISIBLE_NUL_FREE_PATTERN, "description": _CSV_RULE},
            "example": _CSV_EXAMPLE,
        },
        "application/json": {
            "schema": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "object"},
                "description": "Records: one object per row; the columns are every key.",
            },
            "example": [{"region": "north", "sales": 120}, {"region": "south", "sales": 80}],
        },
    },
}
FORM_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "description": f"The dataset as the 'file' part of a form (what browsers send). {_LIMITS}",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {
                        "type": "string",
                        "pattern": VISIBLE_NUL_FREE_PATTERN,
                        "description": f"The dataset file. {_CSV_RULE} JSON records instead"
                        " when the part's Content-Type is application/json or its file name"
                        " ends in .json.",
                        "example": _CSV_EXAMPLE,
                    }
                },
                "required": ["file"],
                # The form is read with at most 10 fields (bounded work per request):
                # documented as the one part it is, so no client (nor a generator
                # fuzzing the API) takes extra parts for part of the contract.
                "additionalProperties": False,
            },
            "encoding": {"file": {"contentType": "text/csv"}},
        },
    },
}


_LINKS_TO_DATASET = {
    "ask": {
        "operationId": "submit_analysis",
        "requestBody": {
            "question": "How many rows are there?",
            "dataset_id": "$response.body#/dataset_id",
        },
        "description": "Ask a question about the dataset just stored.",
    }
}


class DatasetOut(BaseModel):
    dataset_id: UUID
    media_type: str
    size_bytes: int
    sha256: str
    rows: int
    columns: int
    name: str | None = Field(
        default=None, description="The name it was uploaded with (a form's file name)."
    )


class ListedDatasetOut(BaseModel):
    dataset_id: UUID
    name: str | None = Field(description="The name it was uploaded with, if any.")
    media_type: str
    size_bytes: int
    rows: int | None = Field(description="Unknown (null) for datasets sent inline.")
    columns: int | None
    created_at: datetime


class DatasetPage(BaseModel):
    items: list[ListedDatasetOut]
    next_cursor: str | None


def datasets_router(upload: UploadDataset, listing: ListDatasets) -> APIRouter:
    router = APIRouter()
    responses: dict[int | str, dict[str, Any]] = {
        201: {"description": "Stored.", "links": _LINKS_TO_DATASET},
        **problem_responses(413, 415),
    }

    async def store(
        tenant_id: str, media_type: DatasetMediaType, content: bytes, name: str | None
    ) -> DatasetOut:
        try:
            stored = await upload(
                tenant_id=tenant_id, media_type=media_type, content=content, name=name
            )
        except DatasetTooLarge as error:
            raise ApiProblem(413, "Payload too large", str(error)) from error
        except DatasetUnreadable as error:
            raise ApiProblem(422, "Unreadable dataset", str(error)) from error
        DATASETS_UPLOADED_BYTES.inc(stored.size_bytes)
        return DatasetOut(
            dataset_id=stored.dataset_id,
            media_type=stored.media_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            rows=stored.rows,
            columns=stored.columns,
            name=stored.name,
        )

    @router.post(
        UPLOAD_PATH,
        status_code=201,
        response_model=DatasetOut,
        operation_id="upload_dataset",
        summary="Store a dataset (the raw body) to analyse by reference",
        responses=responses,
        openapi_extra={"requestBody": RAW_UPLOAD_BODY},
    )
    async def upload_dataset(
        request: Request,
        tenant_id: Tenant,
        name: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=MAX_NAME_CHARS,
                pattern=VISIBLE_NUL_FREE_PATTERN,
                description="A name to list it by (a file name, say).",
                examples=["sales.csv"],
            ),
        ] = None,
    ) -> DatasetOut:
        """Store a dataset sent as the body (text/csv, or application/json records);
        then ask about it with its ``dataset_id``."""
        media_type = _media_type(request.headers.get("content-type"))
        if media_type is None:
            raise _unsupported(
                f"{UPLOAD_PATH} takes text/csv or application/json (records);"
                f" send a multipart form to {FORM_UPLOAD_PATH}"
            )
        return await store(tenant_id, media_type, await request.body(), name)

    @router.post(
        FORM_UPLOAD_PATH,
        status_code=201,
        response_model=DatasetOut,
        operation_id="upload_dataset_form",
        summary="Store a dataset sent as a form's file",
        responses=responses,
        openapi_extra={"requestBody": FORM_UPLOAD_BODY},
    )
    async def upload_dataset_form(request: Request, tenant_id: Tenant) -> DatasetOut:
        """Store a dataset sent as the ``file`` part of a multipart/form-data form (a
        separate operation from the raw upload, so each has one body type: generated
        clients cannot call an operation that takes several)."""
        media_type, content, name = await _dataset_from_form(request)
        return await store(tenant_id, media_type, content, name)

    @router.get(
        UPLOAD_PATH,
        response_model=DatasetPage,
        operation_id="list_datasets",
        summary="Your datasets, newest first: pick one to ask about again",
        responses=problem_responses(),
    )
    async def list_datasets(
        tenant_id: Tenant,
        limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
        cursor: Annotated[
            str | None,
            Query(
                pattern=CURSOR_PATTERN,
                description="The previous page's next_cursor: the page continues after it.",
                examples=["AAYH3q1iNIDm2dwIYxNEPb0yq1NwIyPK"],
            ),
        ] = None,
    ) -> DatasetPage:
        found, next_cursor = await listing(tenant_id=tenant_id, limit=limit, cursor=cursor)
        items = [ListedDatasetOut.model_validate(item, from_attributes=True) for item in found]
        return DatasetPage(items=items, next_cursor=next_cursor)

    return router


def _unsupported(detail: str) -> ApiProblem:
    return ApiProblem(415, "Unsupported media type", detail)


_UNTYPED_PARTS = frozenset({"", "application/octet-stream", "text/plain"})
"""Part types that say nothing about the content (what browsers and tools send)."""


def _media_type(content_type: str | None, filename: str | None = None) -> DatasetMediaType | None:
    declared = (content_type or "").split(";")[0].strip().lower()
    for known in DATASET_MEDIA_TYPES:
        if declared == known:
            return known
    suffix = (filename or "").lower().rsplit(".", 1)[-1]
    by_suffix: dict[str, DatasetMediaType] = {"csv": "text/csv", "json": "application/json"}
    return by_suffix.get(suffix)


async def _dataset_from_form(request: Request) -> tuple[DatasetMediaType, bytes, str | None]:
    """(media type, bytes, file name) of the form's ``file`` part; 415/422 when it has
    none."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise _unsupported(f"{FORM_UPLOAD_PATH} takes multipart/form-data with a 'file' part")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except (AssertionError, ValueError, StarletteHTTPException) as error:
        raise ApiProblem(422, "Invalid request", f"unreadable multipart body: {error}") from error
    part = form.get("file")
    if isinstance(part, str):  # a plain form field: the CSV text itself
        return "text/csv", part.encode(), None
    if not isinstance(part, StarletteUploadFile):
        raise ApiProblem(422, "Invalid request", "the multipart form needs a 'file' part")
    media_type = _media_type(part.content_type, part.filename)
    if media_type is None:
        declared = (part.content_type or "").split(";")[0].strip().lower()
        if declared not in _UNTYPED_PARTS:
            raise _unsupported("the 'file' part is text/csv or application/json (records)")
        media_type = "text/csv"  # untyped and no known suffix: read as CSV, the usual file
    return media_type, await part.read(), part.filename

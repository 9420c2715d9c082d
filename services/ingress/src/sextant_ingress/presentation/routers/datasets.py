"""``/v1/datasets``: upload a dataset (raw body or multipart) to analyse by reference."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from sextant_ingress.application.upload_dataset import UploadDataset
from sextant_ingress.domain.datasets import (
    DATASET_MEDIA_TYPES,
    DatasetMediaType,
    DatasetTooLarge,
    DatasetUnreadable,
)
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.metrics import DATASETS_UPLOADED_BYTES
from sextant_ingress.presentation.problems import ApiProblem, problem_responses

UPLOAD_PATH = "/v1/datasets"
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


class DatasetOut(BaseModel):
    dataset_id: UUID
    media_type: str
    size_bytes: int
    sha256: str
    rows: int
    columns: int


def datasets_router(upload: UploadDataset) -> APIRouter:
    router = APIRouter()

    @router.post(
        UPLOAD_PATH,
        status_code=201,
        response_model=DatasetOut,
        responses=problem_responses(413, 415),
        openapi_extra={"requestBody": UPLOAD_BODY},
    )
    async def upload_dataset(
        request: Request,
        tenant_id: Tenant,
        content_type: Annotated[str, Header()] = "",
    ) -> DatasetOut:
        """Store a dataset: the raw body (text/csv or application/json records), or a
        multipart/form-data form whose ``file`` part is one of those."""
        media_type, content = await _dataset_from(request, content_type)
        try:
            stored = await upload(tenant_id=tenant_id, media_type=media_type, content=content)
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
        )

    return router


def _media_type(content_type: str | None, filename: str | None = None) -> DatasetMediaType | None:
    declared = (content_type or "").split(";")[0].strip().lower()
    for known in DATASET_MEDIA_TYPES:
        if declared == known:
            return known
    suffix = (filename or "").lower().rsplit(".", 1)[-1]
    by_suffix: dict[str, DatasetMediaType] = {"csv": "text/csv", "json": "application/json"}
    return by_suffix.get(suffix)


async def _dataset_from(request: Request, content_type: str) -> tuple[DatasetMediaType, bytes]:
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

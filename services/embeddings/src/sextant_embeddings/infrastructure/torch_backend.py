"""The reference backend: sentence-transformers on torch (CUDA, MPS or CPU)."""

from collections.abc import Sequence
from typing import Literal

import torch
from sentence_transformers import SentenceTransformer

from sextant_embeddings.infrastructure.sentence_model import FloatMatrix, SentenceModelBackend

TorchDtype = Literal["float32", "bfloat16", "float16"]


class TorchEmbeddings(SentenceModelBackend):
    """``SentenceTransformer.encode`` as is; optionally in bf16/fp16 (faster, tiny loss)."""

    def __init__(
        self,
        model: SentenceTransformer,
        *,
        model_name: str,
        batch_size: int,
        dtype: TorchDtype = "float32",
    ) -> None:
        super().__init__(model, model_name=model_name, batch_size=batch_size)
        if dtype != "float32":
            model.to(getattr(torch, dtype))
        self.backend = "torch" if dtype == "float32" else f"torch-{dtype}"

    def _encode(self, texts: Sequence[str]) -> FloatMatrix:
        with torch.inference_mode():
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype("float32", copy=False)

    def close(self) -> None:
        self.model.to("cpu")
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

"""Session fixtures with the packaged embedding model, loaded once per test run."""

from collections.abc import Iterator
from typing import Any

import pytest

from sextant_embeddings.infrastructure.model_files import resolve_model_path

# A fixed, varied text set: what quality figures (cosine vs fp32) are measured on.
REFERENCE_TEXTS = [
    "Revenue grew by twelve percent in the third quarter.",
    "The patient was discharged after two days of observation.",
    "Kafka keeps messages of one key in order within a partition.",
    "How many units were sold in March, and by which region?",
    "A short one.",
    "Large language models call tools to compute statistics instead of guessing numbers.",
    "Die Umsätze stiegen im dritten Quartal deutlich.",
    "東京の人口は約千四百万人です。",
    "def mean(xs): return sum(xs) / len(xs)",
    "Outliers above the upper fence were removed before fitting the trend line.",
    "Customer churn fell after the pricing change in April.",
    "🙂 emoji and punctuation!!! ???",
]


@pytest.fixture(scope="session")
def reference_model() -> Any:
    """``SentenceTransformer`` exactly as a user would load it: the reference for vectors."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(resolve_model_path(None)), device="cpu", local_files_only=True)


def _loaded(backend: str) -> Iterator[Any]:
    from sextant_embeddings.infrastructure.backends import load_embedding_service

    service = load_embedding_service(
        backend=backend,  # type: ignore[arg-type]
        device="cpu",
        model_path=None,
        batch_size=32,
    )
    yield service
    service.close()


@pytest.fixture(scope="session")
def torch_embeddings() -> Iterator[Any]:
    yield from _loaded("torch")


@pytest.fixture(scope="session")
def openvino_embeddings() -> Iterator[Any]:
    yield from _loaded("openvino")


@pytest.fixture(scope="session")
def openvino_int8_embeddings() -> Iterator[Any]:
    """The int8 backend at its default quality floor, or the ``QuantizationTooLossy`` it
    raised: whether int8 holds the floor depends on this CPU's int8 instructions."""
    from sextant_embeddings.infrastructure.openvino_backend import QuantizationTooLossy

    try:
        yield from _loaded("openvino-int8")
    except QuantizationTooLossy as refused:
        yield refused

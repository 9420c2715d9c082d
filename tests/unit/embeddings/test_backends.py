"""Both backends against sentence-transformers itself, on the packaged model."""

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sextant_embeddings.application.batcher import BatchBudget, EmbeddingBatcher
from sextant_embeddings.infrastructure.sentence_model import from_vectors
from sextant_embeddings.infrastructure.vendor_telemetry import decline_openvino_telemetry
from tests.embeddings_fixtures import REFERENCE_TEXTS


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.asarray((a * b).sum(axis=1))


def test_torch_backend_equals_sentence_transformers(
    torch_embeddings: Any, reference_model: Any
) -> None:
    expected = reference_model.encode(REFERENCE_TEXTS)
    got = from_vectors(torch_embeddings.embed(REFERENCE_TEXTS).vectors)
    assert got.shape == (len(REFERENCE_TEXTS), 384)
    assert _cosines(got, expected).min() >= 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_openvino_backend_keeps_quality(openvino_embeddings: Any, reference_model: Any) -> None:
    expected = reference_model.encode(REFERENCE_TEXTS)
    got = from_vectors(openvino_embeddings.embed(REFERENCE_TEXTS).vectors)
    assert openvino_embeddings.backend == "openvino"
    assert _cosines(got, expected).min() >= 0.999


def test_openvino_int8_backend_stays_above_the_quality_floor_or_is_refused(
    openvino_int8_embeddings: Any, reference_model: Any
) -> None:
    from sextant_embeddings.infrastructure.openvino_backend import QuantizationTooLossy

    if isinstance(openvino_int8_embeddings, QuantizationTooLossy):
        # This CPU cannot hold the floor: refusing to serve is the right behaviour, and
        # the refusal must be for a measured cosine really below the default floor.
        refused = openvino_int8_embeddings
        assert refused.floor == 0.99
        assert 0.5 < refused.min_cosine < refused.floor
        assert "use the openvino (fp32) backend" in str(refused)
        return
    expected = reference_model.encode(REFERENCE_TEXTS)
    got = from_vectors(openvino_int8_embeddings.embed(REFERENCE_TEXTS).vectors)
    assert openvino_int8_embeddings.backend == "openvino-int8"
    assert 0.99 <= openvino_int8_embeddings.min_cosine_vs_fp32 < 1.0  # really quantized
    assert _cosines(got, expected).min() >= 0.99
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_int8_below_the_floor_is_refused_not_served() -> None:
    from sextant_embeddings.infrastructure.backends import load_embedding_service
    from sextant_embeddings.infrastructure.openvino_backend import QuantizationTooLossy

    with pytest.raises(QuantizationTooLossy, match=r"below the floor 0\.99999"):
        load_embedding_service(
            backend="openvino-int8",
            device="cpu",
            model_path=None,
            batch_size=32,
            int8_min_cosine=0.99999,
        )


def test_batches_pad_to_their_longest_text_not_to_128(torch_embeddings: Any) -> None:
    # The packaged tokenizer.json asks for fixed padding to 128 tokens.
    tokenizer = torch_embeddings.model.tokenizer
    batch = tokenizer(["a b", "hello world again"], padding=True, return_tensors="np")
    assert batch["input_ids"].shape == (2, 5)
    features = torch_embeddings.model.preprocess(["a b", "hello world again"])
    assert tuple(features["input_ids"].shape) == (2, 5)


def test_long_texts_are_reported_as_truncated(torch_embeddings: Any) -> None:
    long_text = " ".join(["analysis"] * 600)
    encoded = torch_embeddings.embed(["short text", long_text, "x" * 300])
    assert encoded.truncated_indices == [1]
    assert encoded.token_counts[1] == torch_embeddings.max_tokens
    assert encoded.token_counts[0] == 4  # [CLS] short text [SEP]


def test_rank_matches_a_direct_numpy_computation(
    torch_embeddings: Any, reference_model: Any
) -> None:
    query = "How did revenue change last quarter?"
    passages = REFERENCE_TEXTS
    vectors = torch_embeddings.embed([query, *passages]).vectors
    ranked = torch_embeddings.rank(vectors.rows(0, 1), vectors.rows(1, vectors.count), 5)

    reference = reference_model.encode([query, *passages], normalize_embeddings=True)
    scores = reference[1:] @ reference[0]
    expected = list(np.argsort(-scores, kind="stable")[:5])
    assert [r.index for r in ranked] == expected
    assert [r.score for r in ranked] == pytest.approx(list(scores[expected]), abs=1e-4)


async def _one_request_per_text(batcher: EmbeddingBatcher, texts: list[str]) -> np.ndarray:
    """Every text its own concurrent request; the vectors stacked in request order."""
    await batcher.start()
    try:
        results = await asyncio.gather(*(batcher.embed([t]) for t in texts))
    finally:
        await batcher.stop()
    return np.vstack([from_vectors(r.vectors) for r in results])


async def test_concurrent_requests_share_model_calls(
    torch_embeddings: Any, reference_model: Any
) -> None:
    batcher = EmbeddingBatcher(torch_embeddings, BatchBudget(max_texts=64))
    texts = [f"request number {i} asks about metric {i * 7}" for i in range(40)]
    got = await _one_request_per_text(batcher, texts)
    assert batcher.stats.requests == 40
    assert batcher.stats.batches < 40  # requests waiting together went in one call
    assert batcher.stats.largest_batch_requests > 1
    assert batcher.stats.most_calls_at_once == 1  # torch: a call takes the whole device
    expected = reference_model.encode(texts)
    assert _cosines(got, expected).min() >= 0.9999  # each caller got its own vector


async def test_openvino_calls_overlap_and_each_caller_gets_its_own_rows(
    openvino_embeddings: Any,
) -> None:
    """One call per inference stream runs at once, so no stream idles between calls."""
    assert openvino_embeddings.concurrent_calls >= 1
    batcher = EmbeddingBatcher(openvino_embeddings, BatchBudget(max_texts=16))
    texts = [f"how did metric {i * 3} move in region {i % 5}?" for i in range(120)]
    got = await _one_request_per_text(batcher, texts)
    assert batcher.stats.batches >= 120 // 16
    expected_overlap = min(openvino_embeddings.concurrent_calls, batcher.stats.batches)
    assert batcher.stats.most_calls_at_once == expected_overlap
    expected = from_vectors(openvino_embeddings.embed(texts).vectors)  # one call, all texts
    assert _cosines(got, expected).min() >= 0.99999


def test_openvino_telemetry_is_declined_before_the_backend_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)  # CI alone would also silence it
    checker = OptInChecker()
    assert checker.check(False) == ConsentCheckResult.NO_FILE  # the vendor's default: send
    assert decline_openvino_telemetry()
    assert checker.check(False) == ConsentCheckResult.DECLINED
    assert Path(checker.consent_file()).read_text() == "0"


def test_an_unwritable_consent_file_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "missing"))  # no such home: nowhere to write
    assert not decline_openvino_telemetry()
    assert "opt-out" in caplog.text


def test_openvino_counts_cut_texts_in_full(openvino_embeddings: Any) -> None:
    """Counts come from the model's own batches; a text cut at the limit is recounted."""
    long_text = " ".join(["analysis"] * 600)
    encoded = openvino_embeddings.embed(["short text", long_text, "x" * 300])
    assert encoded.truncated_indices == [1]
    assert encoded.token_counts == (4, openvino_embeddings.max_tokens, 3)


def test_tokenizer_batches_equal_hugging_faces(openvino_embeddings: Any) -> None:
    texts = ["a b", "hello world again", "Die Umsätze stiegen 🙂", " ".join(["word"] * 400)]
    expected = openvino_embeddings.model.tokenizer(
        texts, padding=True, truncation=True, max_length=openvino_embeddings.max_tokens
    )
    batch = openvino_embeddings.tokenizer.batch(texts)
    for name, array in batch.features().items():
        assert array.tolist() == expected[name]
    uncut = openvino_embeddings.model.tokenizer(texts)["input_ids"]
    assert openvino_embeddings.tokenizer.counts(texts) == [len(ids) for ids in uncut]


def test_model_calls_from_several_threads_at_once_all_succeed(openvino_embeddings: Any) -> None:
    """OpenVINO serves one call per inference stream at once, each in its own thread.

    Hugging Face's tokenizer wrapper reconfigured one shared tokenizer per call (padding on
    for a batch, off for a count), so calls at once came out ragged now and then.
    """
    texts = ["a", "a much longer text with many more words than the first one has"]
    expected = tuple(len(ids) for ids in openvino_embeddings.model.tokenizer(texts)["input_ids"])
    failures: list[BaseException] = []

    def calls() -> None:
        for _ in range(300):
            try:
                encoded = openvino_embeddings.embed(texts)
                assert encoded.token_counts == expected
            except BaseException as failure:  # every failure is counted, none ends the loop
                failures.append(failure)

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []

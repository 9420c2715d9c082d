"""The model's tokenizer, configured once, safe to call from several threads at once.

Hugging Face's tokenizer wrapper reconfigures the one Rust tokenizer it holds on every
call (padding and truncation on for a model batch, off for a token count). With two model
calls at once (one per OpenVINO inference stream) one thread could switch padding off
while the other was tokenizing a batch, which then came out ragged and failed the whole
call ("setting an array element with a sequence"; about one call in a thousand under
load). Here each use has its own copy of the Rust tokenizer, configured when the model is
loaded and never changed afterwards, called directly (no per-text Python conversion).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sentence_transformers import SentenceTransformer
from tokenizers import Encoding, Tokenizer

IntMatrix = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TokenizedBatch:
    """A batch padded to its longest text and cut at the model's limit."""

    input_ids: IntMatrix
    attention_mask: IntMatrix
    token_type_ids: IntMatrix

    def features(self) -> dict[str, IntMatrix]:
        """By the names Hugging Face models take them."""
        return {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "token_type_ids": self.token_type_ids,
        }

    def lengths(self) -> list[int]:
        """Tokens of each text that the model reads (its real tokens, no padding)."""
        return [int(n) for n in self.attention_mask.sum(axis=1)]


class ModelTokenizer:
    """Two fixed copies of the model's tokenizer: one counts, one builds model batches."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        *,
        max_tokens: int,
        pad_id: int,
        pad_token: str,
        padding_side: str = "right",
        truncation_side: str = "right",
    ):
        self.max_tokens = max_tokens
        self._counting = Tokenizer.from_str(tokenizer.to_str())
        self._counting.no_padding()
        self._counting.no_truncation()
        self._batching = Tokenizer.from_str(tokenizer.to_str())
        self._batching.enable_truncation(max_tokens, direction=truncation_side)
        self._batching.enable_padding(direction=padding_side, pad_id=pad_id, pad_token=pad_token)

    @classmethod
    def of(cls, model: SentenceTransformer, max_tokens: int) -> "ModelTokenizer":
        """The tokenizer of a loaded sentence-transformers model (a fast tokenizer)."""
        wrapper = model.tokenizer
        backend = getattr(wrapper, "backend_tokenizer", None)
        if not isinstance(backend, Tokenizer):
            raise TypeError(f"{type(wrapper).__name__} is not a fast (Rust) tokenizer")
        return cls(
            backend,
            max_tokens=max_tokens,
            pad_id=int(wrapper.pad_token_id or 0),
            pad_token=str(wrapper.pad_token or "[PAD]"),
            padding_side=str(getattr(wrapper, "padding_side", "right")),
            truncation_side=str(getattr(wrapper, "truncation_side", "right")),
        )

    def counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text before truncation (special tokens included)."""
        return [len(encoding.ids) for encoding in self._encode(self._counting, texts)]

    def batch(self, texts: Sequence[str]) -> TokenizedBatch:
        encodings = self._encode(self._batching, texts)
        return TokenizedBatch(
            input_ids=np.array([e.ids for e in encodings], dtype=np.int64),
            attention_mask=np.array([e.attention_mask for e in encodings], dtype=np.int64),
            token_type_ids=np.array([e.type_ids for e in encodings], dtype=np.int64),
        )

    @staticmethod
    def _encode(tokenizer: Tokenizer, texts: Sequence[str]) -> list[Encoding]:
        # encode_batch_fast: no character offsets, which nothing here reads.
        return tokenizer.encode_batch_fast(list(texts))

"""Cross-request batching: many small requests share one model call.

Requests wait in a queue. A single worker takes whatever is waiting the moment the model
has room for another call (never waiting for a batch to fill), up to a text and character
budget, runs that call off the event loop, and hands each request its own rows. While the
model is busy the queue fills up, so batches grow exactly when the load does.

The model has room for as many calls as its adapter's ``concurrent_calls`` (one for
torch; one per inference stream for OpenVINO), so a call's replies go out and the next
batch is gathered while another call keeps the hardware busy.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sextant_embeddings.domain.ports import EmbeddingService, Encoded
from sextant_platform.background import BackgroundTask

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BatchBudget:
    """The most one model call may take on; a single larger request still runs alone."""

    max_texts: int = 256
    max_chars: int = 200_000


@dataclass(slots=True)
class BatchStats:
    """What the batcher has done so far, for metrics and tests."""

    batches: int = 0
    texts: int = 0
    requests: int = 0
    largest_batch_texts: int = 0
    largest_batch_requests: int = 0
    most_calls_at_once: int = 0
    busy_s: float = 0.0
    """Seconds during which at least one model call ran."""


@dataclass(slots=True)
class _Job:
    texts: Sequence[str]
    chars: int
    done: asyncio.Future[Encoded] = field(repr=False)


class EmbeddingBatcher:
    """Owns the model's time: a few model calls at a time, each serving many requests."""

    def __init__(self, service: EmbeddingService, budget: BatchBudget | None = None) -> None:
        self.service = service
        self.budget = budget or BatchBudget()
        self.stats = BatchStats()
        self._queue: deque[_Job] = deque()
        self._wakeup = asyncio.Event()
        self._calls_running = 0
        self._busy_since = 0.0
        self._worker = BackgroundTask(self._run, name="embedding-batcher")

    async def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()
        while self._queue:
            job = self._queue.popleft()
            if not job.done.done():
                job.done.set_exception(RuntimeError("embedding batcher stopped"))

    async def embed(self, texts: Sequence[str]) -> Encoded:
        """Queue ``texts`` for the next model call and wait for their vectors."""
        if self._worker is None:
            raise RuntimeError("the batcher is not started")
        job = _Job(texts, sum(len(t) for t in texts), asyncio.get_running_loop().create_future())
        self._queue.append(job)
        self._wakeup.set()
        return await job.done

    def _take_batch(self) -> list[_Job]:
        batch = [self._queue.popleft()]
        texts, chars = len(batch[0].texts), batch[0].chars
        while self._queue:
            job = self._queue[0]
            if (
                texts + len(job.texts) > self.budget.max_texts
                or chars + job.chars > self.budget.max_chars
            ):
                break
            batch.append(self._queue.popleft())
            texts += len(job.texts)
            chars += job.chars
        return batch

    async def _run(self) -> None:
        room = asyncio.Semaphore(max(1, self.service.concurrent_calls))
        async with asyncio.TaskGroup() as calls:  # stopping cancels the calls it started
            while True:
                if not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                await room.acquire()
                calls.create_task(self._serve(self._take_batch(), room))

    async def _serve(self, batch: list[_Job], room: asyncio.Semaphore) -> None:
        texts = [text for job in batch for text in job.texts]
        started = self._call_started()
        try:
            encoded = await asyncio.to_thread(self.service.embed, texts)
        except Exception as error:  # every waiting request learns why, the worker survives
            logger.exception("embedding batch failed", extra={"texts": len(texts)})
            for job in batch:
                if not job.done.done():
                    job.done.set_exception(error)
            return
        finally:
            self._call_ended()
            room.release()
        self._record(len(batch), len(texts), time.perf_counter() - started)
        self._distribute(batch, encoded)

    def _call_started(self) -> float:
        now = time.perf_counter()
        if self._calls_running == 0:
            self._busy_since = now
        self._calls_running += 1
        self.stats.most_calls_at_once = max(self.stats.most_calls_at_once, self._calls_running)
        return now

    def _call_ended(self) -> None:
        """The model counts as busy while any call runs (overlapping calls count once)."""
        self._calls_running -= 1
        if self._calls_running == 0:
            self.stats.busy_s += time.perf_counter() - self._busy_since

    def _record(self, requests: int, texts: int, elapsed: float) -> None:
        stats = self.stats
        stats.batches += 1
        stats.requests += requests
        stats.texts += texts
        stats.largest_batch_texts = max(stats.largest_batch_texts, texts)
        stats.largest_batch_requests = max(stats.largest_batch_requests, requests)
        logger.debug(
            "embedding batch served",
            extra={"requests": requests, "texts": texts, "ms": round(elapsed * 1000, 2)},
        )

    @staticmethod
    def _distribute(batch: list[_Job], encoded: Encoded) -> None:
        start = 0
        for job in batch:
            stop = start + len(job.texts)
            truncated = [i - start for i in encoded.truncated_indices if start <= i < stop]
            if not job.done.done():  # a caller that gave up no longer waits
                job.done.set_result(
                    Encoded(
                        encoded.vectors.rows(start, stop),
                        truncated,
                        encoded.token_counts[start:stop],
                    )
                )
            start = stop

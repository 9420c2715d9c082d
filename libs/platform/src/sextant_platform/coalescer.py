"""Many concurrent single-item calls turned into one call per batch.

Why: a consumer that handles records concurrently would otherwise pay one database
transaction (several round trips, each a loopback socket write on both sides) per
record. Here every item submitted while a write is in flight joins the next write, so
under load one transaction carries a whole poll's worth of records, and when idle an
item is written at once: nothing ever waits for a batch to fill.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

BatchWriter = Callable[[list[ItemT]], Awaitable[Sequence[ResultT | BaseException]]]
"""Writes a batch; returns one result per item, in order (an exception fails that item
alone). Raising fails every item of the batch."""


class Coalescer(Generic[ItemT, ResultT]):
    """``await submit(item)`` resolves with that item's result from a batched write.

    Writes run one at a time, each taking everything waiting (up to ``max_items``) in
    submission order. A writer that must keep order across writes (an event log read
    "after sequence N") can rely on it: an item submitted later is never committed
    in an earlier write.
    """

    def __init__(self, write: BatchWriter[ItemT, ResultT], *, max_items: int = 500) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._write = write
        self._max_items = max_items
        self._waiting: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0
        self.items_written = 0

    async def submit(self, item: ItemT) -> ResultT:
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="coalescer-drain")
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_items]
            del self._waiting[: self._max_items]
            try:
                results = await self._write([item for item, _ in batch])
            except asyncio.CancelledError:
                for _, future in [*batch, *self._waiting]:
                    future.cancel()
                self._waiting.clear()
                raise
            except Exception as error:
                self._fail(batch, error)
                continue
            if len(results) != len(batch):
                count = f"{len(results)} results for {len(batch)} items"
                self._fail(batch, RuntimeError(f"the batch writer returned {count}"))
                continue
            self.writes += 1
            self.items_written += len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # its submitter gave up waiting
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    @staticmethod
    def _fail(batch: list[tuple[ItemT, asyncio.Future[ResultT]]], error: BaseException) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(error)

    async def aclose(self, grace_s: float = 5.0) -> None:
        """Let the writes in flight finish for ``grace_s``, then cancel them (a writer
        that retries through an outage would otherwise hold up shutdown forever)."""
        writer = self._writer
        if writer is None or writer.done():
            return
        _, pending = await asyncio.wait({writer}, timeout=grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(writer, return_exceptions=True)

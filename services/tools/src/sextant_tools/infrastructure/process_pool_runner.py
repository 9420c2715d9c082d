"""Run tools in a pool of worker processes, with a per-invocation timeout.

Why processes: pandas work holds the GIL for long stretches; in a thread it would still
starve the event loop's thread of CPU. A worker process keeps the loop responsive and
lets a runaway computation be stopped: on timeout that worker is terminated and a fresh
one is started for the next invocation. The other invocations it held, running or
queued (other tenants' calls, often), are not failed with it: they run again on the
fresh worker (tools only read their dataset, so a rerun is safe). Each worker is a lane
of its own, and a call goes to the worker that already parsed its dataset.

Workers come from a forkserver, not a fork of this process: a forked worker inherited
the service's Kafka and PostgreSQL sockets and both ends of the pool's pipes, so when
the service was killed its workers never saw the pipe close and lived on as orphans.
A forkserver's workers start from a clean process with this module (and pandas)
preloaded, and each watches the service's process: when it is gone, however it ended,
the worker exits (a pool's queues never tell a worker that its parent died).
"""

import asyncio
import logging
import multiprocessing
import os
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import shared_memory
from multiprocessing.context import BaseContext
from typing import Any

import pandas as pd
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from sextant_tools.domain.datasets import DatasetLimits, MediaType
from sextant_tools.domain.errors import ToolTimedOut
from sextant_tools.infrastructure.frames import load_frame
from sextant_tools.infrastructure.shared_blocks import SharedBlocks, block_buffer
from sextant_tools.infrastructure.tools.catalogue import default_catalogue

logger = logging.getLogger(__name__)

RUNS_PER_INVOCATION = 3
"""An invocation whose pool was recycled under it (another one timed out) runs again,
up to this many runs in all."""

HELD_PER_WORKER = 2
"""Invocations per worker that hold their dataset in shared memory: one running, one
ready to start the moment the worker is free. With one, a worker idled while the event
loop handed it the next (bench-e2e: 13-18 analyses/s against 16-22 with two)."""


class _NotHeld(Exception):
    """The worker was asked to use a dataset it no longer holds (evicted meanwhile): the
    service sends the bytes again."""


def run_tool(
    tool_name: str,
    media_type: MediaType,
    shared_name: str | None,
    size: int,
    arguments: dict[str, Any],
    limits: DatasetLimits,
    dataset_key: str | None = None,
    keep_bytes: int = 0,
) -> dict[str, Any]:
    """Worker-side entry point: read the dataset from shared memory, parse it, run the tool.

    The bytes arrive through a shared-memory block rather than the pool's pipe: pickling
    tens of MB through the pipe cost more than parsing them. A dataset this worker parsed
    before under ``dataset_key`` is not read or parsed again (:class:`_ParsedFrames`);
    the service then sends no bytes at all (``shared_name`` None).
    """
    tool = default_catalogue().get(tool_name)
    frame = _PARSED.get(dataset_key) if dataset_key is not None else None
    if frame is None:
        if shared_name is None:
            raise _NotHeld(dataset_key)
        block = shared_memory.SharedMemory(name=shared_name)
        try:
            content = _WORKER_BUFFER.holding(block_buffer(block)[:size])
        finally:
            block.close()
        frame = load_frame(content, media_type, limits)
        _PARSED.parses += 1
        if dataset_key is not None:
            _PARSED.keep(dataset_key, frame, max_bytes=keep_bytes)
    # A shallow copy: with pandas' copy-on-write, nothing a tool does to its frame can
    # reach the one kept for the next call.
    return dict(tool.run(frame.copy(deep=False), arguments))


def run_tool_in_lane(*arguments: Any) -> tuple[dict[str, Any], list[str]]:
    """:func:`run_tool` (same arguments), and the keys of the datasets this worker holds
    afterwards (what the service routes the next calls by)."""
    return run_tool(*arguments), _PARSED.keys()


class _ParsedFrames:
    """The datasets this worker parsed, most recently used last, within a byte budget.

    Why: an agent calls several tools on one dataset, and parsing was most of each call
    (1M x 10 CSV: ~0.2 s of parse for a few ms of statistics). The key holds the tenant,
    the dataset id and the content's sha256, so a frame is only ever reused for the
    same tenant's same bytes. Least recently used frames go first; a frame larger than
    the whole budget is not kept.
    """

    def __init__(self) -> None:
        self._frames: OrderedDict[str, tuple[pd.DataFrame, int]] = OrderedDict()
        self._bytes = 0
        self.parses = 0

    def get(self, key: str) -> pd.DataFrame | None:
        kept = self._frames.get(key)
        if kept is None:
            return None
        self._frames.move_to_end(key)
        return kept[0]

    def keys(self) -> list[str]:
        return list(self._frames)

    def keep(self, key: str, frame: pd.DataFrame, *, max_bytes: int) -> None:
        size = int(frame.memory_usage(index=True, deep=True).sum())
        if size > max_bytes:
            return
        self._frames[key] = (frame, size)
        self._bytes += size
        while self._bytes > max_bytes:
            _, (_, evicted) = self._frames.popitem(last=False)
            self._bytes -= evicted


_PARSED = _ParsedFrames()


def _parses_so_far() -> int:
    """How many datasets this worker has parsed (tests and benchmarks)."""
    return _PARSED.parses


class _ReusedBuffer:
    """The worker's copy of the dataset it is working on, in memory it keeps between calls.

    Why: a fresh ``bytes`` of tens of MB is fresh pages, and faulting them in cost more
    than the copy itself (74 MB: 0.04-0.2 s, against ~0.015 s into pages already
    touched). The buffer grows to the largest dataset the worker has parsed (at most the
    dataset size limit) and stays. It is a bytearray, not the shared block itself: pyarrow
    lets go of what it parsed from on one of its own threads, possibly after the call has
    returned, and a shared block cannot be closed while anything still holds it.
    """

    def __init__(self) -> None:
        self._memory = bytearray()

    def holding(self, content: memoryview) -> memoryview:
        """A view of a copy of ``content``, valid until the next call."""
        size = len(content)
        if len(self._memory) < size:
            self._memory = bytearray(size)  # a buffer still held elsewhere is left to it
        view = memoryview(self._memory)[:size]
        view[:] = content
        return view


_WORKER_BUFFER = _ReusedBuffer()


class _RecycledUnderIt(Exception):
    """The pool this invocation was queued or running in was recycled for another
    invocation's timeout; it did not fail by itself."""


def _worker_ready() -> int:
    """A no-op run in each worker at start-up, so the first invocation finds them up."""
    return multiprocessing.current_process().pid or 0


def _exit_with(service_pid: int) -> None:
    """Worker initializer: exit this worker as soon as the service process ends."""
    try:
        handle = os.pidfd_open(service_pid)  # Linux: readable once the process has ended
    except (AttributeError, OSError):
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _running(service_pid):
                time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="service-watch", daemon=True).start()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cancelled_from_outside(error: BaseException) -> bool:
    """A CancelledError meant for the awaiting task itself (its requester gave up, the
    service stops), not one from a pool that dropped its queued work."""
    task = asyncio.current_task()
    return isinstance(error, asyncio.CancelledError) and task is not None and task.cancelling() > 0


def _worker_context() -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


class _Lane:
    """One worker process, its own executor, and what the service knows it holds.

    Why one executor per worker rather than one pool of N: a shared pool hands each call
    to whichever worker is free, so an agent's calls on one dataset alternated between
    workers and each worker parsed it (and got its bytes copied in) once more. With
    lanes, a call goes to the worker that already holds its dataset, and a timeout
    recycles only that worker.
    """

    def __init__(self, new_executor: Callable[[], ProcessPoolExecutor]) -> None:
        self._new_executor = new_executor
        self.executor = new_executor()
        self.held: frozenset[str] = frozenset()
        self.busy = 0

    def recycle(self, stuck: ProcessPoolExecutor) -> None:
        """Stop the stuck computation: terminate the worker, start a fresh one (unless
        another timeout on this lane has done so already)."""
        if self.executor is not stuck:
            return
        self.executor = self._new_executor()
        self.held = frozenset()
        processes = list(getattr(stuck, "_processes", {}).values())
        stuck.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        logger.warning("tool worker recycled after a timeout", extra={"killed": len(processes)})


class ProcessPoolToolRunner:
    """The ToolRunner port on worker processes, one lane each, routed by dataset."""

    def __init__(
        self,
        *,
        workers: int,
        timeout_s: float,
        limits: DatasetLimits,
        parsed_bytes_per_worker: int = 0,
    ) -> None:
        self._parsed_bytes = parsed_bytes_per_worker
        self._timeout_s = timeout_s
        self._limits = limits
        self._lanes = [_Lane(_new_executor) for _ in range(workers)]
        self._blocks = SharedBlocks(keep=HELD_PER_WORKER * workers)
        self._slots = asyncio.Semaphore(HELD_PER_WORKER * workers)

    def warm_up(self) -> list[int]:
        """Start every worker now (blocking; call it off the event loop); their pids."""
        futures = [lane.executor.submit(_worker_ready) for lane in self._lanes]
        return [future.result() for future in futures]

    async def run(
        self,
        *,
        tool_name: str,
        media_type: MediaType,
        content: bytes,
        arguments: dict[str, Any],
        dataset_key: str | None = None,
    ) -> dict[str, Any]:
        # HELD_PER_WORKER invocations per worker at a time: the others wait here, holding
        # no shared memory, and a timeout measures the tool's own run plus at most one run
        # ahead of it, not a queue of them (a queued invocation timing out used to recycle
        # the pool under the running ones).
        key = dataset_key if self._parsed_bytes > 0 else None
        async with self._slots:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type((_RecycledUnderIt, _NotHeld)),
                stop=stop_after_attempt(RUNS_PER_INVOCATION),
                reraise=True,
            ):
                with attempt:
                    lane = self._lane_for(key)
                    lane.busy += 1
                    try:
                        return await self._run_in_lane(
                            lane, tool_name, media_type, content, arguments, key
                        )
                    finally:
                        lane.busy -= 1
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _lane_for(self, key: str | None) -> _Lane:
        """The worker holding the dataset, unless it already has a call waiting; else the
        least busy one (the slots guarantee one has room)."""
        holders = [lane for lane in self._lanes if key is not None and key in lane.held]
        holder = min(holders, key=lambda lane: lane.busy, default=None)
        if holder is not None and holder.busy < HELD_PER_WORKER:
            return holder
        return min(self._lanes, key=lambda lane: lane.busy)

    async def _run_in_lane(
        self,
        lane: _Lane,
        tool_name: str,
        media_type: MediaType,
        content: bytes,
        arguments: dict[str, Any],
        key: str | None,
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        held = key is not None and key in lane.held  # the worker parses nothing: no bytes
        block = None if held else self._blocks.holding(content)
        executor = lane.executor
        finished = False  # no worker can still be reading the block
        try:
            future = loop.run_in_executor(
                executor,
                run_tool_in_lane,
                tool_name,
                media_type,
                None if block is None else block.name,
                len(content),
                arguments,
                self._limits,
                key,
                self._parsed_bytes,
            )
            try:
                result, lane_holds = await asyncio.wait_for(future, timeout=self._timeout_s)
            finally:
                finished = future.done() and not future.cancelled()
            if lane.executor is executor:
                lane.held = frozenset(lane_holds)
            return result
        except _NotHeld:
            lane.held = lane.held - {key or ""}
            raise
        except TimeoutError:
            lane.recycle(executor)
            raise ToolTimedOut(
                f"{tool_name} did not finish within {self._timeout_s:g}s; "
                "try fewer columns or a smaller dataset"
            ) from None
        except (BrokenProcessPool, asyncio.CancelledError) as error:
            if lane.executor is executor or _cancelled_from_outside(error):
                raise
            raise _RecycledUnderIt(tool_name) from error
        finally:
            if block is not None:
                self._blocks.give_back(block, reusable=finished)

    def parses(self) -> int:
        """Datasets parsed so far by all workers (blocking)."""
        return sum(int(lane.executor.submit(_parses_so_far).result()) for lane in self._lanes)

    def close(self) -> None:
        for lane in self._lanes:
            lane.executor.shutdown(wait=True, cancel_futures=True)
        self._blocks.close()


def _new_executor() -> ProcessPoolExecutor:
    """A lane's executor: one worker, from the forkserver, watching the service."""
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=_worker_context(),
        initializer=_exit_with,
        initargs=(os.getpid(),),
    )

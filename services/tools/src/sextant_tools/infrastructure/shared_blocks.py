"""Shared-memory blocks that carry datasets to the tool workers, reused between calls.

Why reuse: a fresh block is fresh pages, and the service faulted them in while copying
the dataset in, on its event loop (74 MB: ~0.05 s, against ~0.015 s into a block whose
pages are already there). A block a worker may still be reading when its caller gave up
is not reused but discarded.

Why a bound: the blocks live in ``/dev/shm``, which containers get small (Docker and
Kubernetes: 64 MB unless configured). The runner holds at most ``keep`` blocks, in use
and idle together (it lets ``keep`` invocations hold one at once), and each block's space is
reserved when it is made: a full ``/dev/shm`` is then a clear error for one invocation,
not a SIGBUS that kills the service when a write reaches a page tmpfs cannot supply.
"""

import os
from multiprocessing import shared_memory

from sextant_tools.domain.errors import SharedMemoryFull


def block_buffer(block: shared_memory.SharedMemory) -> memoryview:
    """The block's memory (typed: ``SharedMemory.buf`` is None only once closed)."""
    buffer = block.buf
    if buffer is None:
        raise RuntimeError(f"shared memory block {block.name} is closed")
    return buffer


class SharedBlocks:
    """At most ``keep`` shared-memory blocks, in use or idle; idle ones reused best fit first."""

    def __init__(self, *, keep: int) -> None:
        self._keep = keep
        self._idle: list[shared_memory.SharedMemory] = []
        self._in_use = 0

    @property
    def idle(self) -> int:
        return len(self._idle)

    def holding(self, content: bytes) -> shared_memory.SharedMemory:
        """A block whose first ``len(content)`` bytes are ``content``; give it back after.

        Raises SharedMemoryFull when ``/dev/shm`` has no room for it. The caller lets at
        most ``keep`` invocations hold a block at once.
        """
        if self._in_use >= self._keep:
            raise RuntimeError(f"more than {self._keep} blocks held at once")
        block = self._take(max(1, len(content)))
        self._in_use += 1
        block_buffer(block)[: len(content)] = content
        return block

    def give_back(self, block: shared_memory.SharedMemory, *, reusable: bool) -> None:
        """Keep the block for a later call, or discard it (a worker may still read it)."""
        self._in_use -= 1
        if reusable:
            self._idle.append(block)
        else:
            _discard(block)

    def close(self) -> None:
        while self._idle:
            _discard(self._idle.pop())

    def _take(self, size: int) -> shared_memory.SharedMemory:
        fitting = [block for block in self._idle if block.size >= size]
        if fitting:
            block = min(fitting, key=_size)
            self._idle.remove(block)
            return block
        if self._idle and self._in_use + len(self._idle) >= self._keep:
            smallest = min(self._idle, key=_size)  # too small: its room goes to the new one
            self._idle.remove(smallest)
            _discard(smallest)
        return _reserved_block(size)


def _reserved_block(size: int) -> shared_memory.SharedMemory:
    """A new block whose pages ``/dev/shm`` has already set aside."""
    block = shared_memory.SharedMemory(create=True, size=size)
    descriptor = getattr(block, "_fd", -1)  # POSIX only; elsewhere nothing to reserve
    try:
        if descriptor >= 0:
            os.posix_fallocate(descriptor, 0, size)
    except OSError as error:
        _discard(block)
        raise SharedMemoryFull(
            f"no room in shared memory (/dev/shm) for a {size}-byte dataset ({error.strerror});"
            " give the tools service at least 2 x WORKERS x MAX_DATASET_BYTES of /dev/shm"
        ) from None
    return block


def _size(block: shared_memory.SharedMemory) -> int:
    return block.size


def _discard(block: shared_memory.SharedMemory) -> None:
    block.close()
    block.unlink()

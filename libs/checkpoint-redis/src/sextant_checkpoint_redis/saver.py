"""A LangGraph checkpointer on core Redis data structures (hashes, sorted sets, sets).

The official ``langgraph-checkpoint-redis`` needs RedisJSON and RediSearch (Redis 8 or
Redis Stack); Debian's Redis 7, Valkey and most managed Redis offer neither. This saver
uses only commands every Redis has, and is checked with LangGraph's conformance suite.

Layout, under ``prefix`` (every key of a thread is listed in its ``keys`` set, so that a
thread can be deleted or given a TTL without SCAN):

* ``{p}:threads``                         set of thread ids
* ``{p}:t:{thread}:keys``                 set of the thread's keys
* ``{p}:t:{thread}:ns``                   set of the thread's checkpoint namespaces
* ``{p}:t:{thread}:{ns}:index``           sorted set of checkpoint ids (lexicographic ==
  creation order: ids are time-ordered UUIDv6 strings)
* ``{p}:t:{thread}:{ns}:cp:{id}``         hash: checkpoint, metadata, parent id
* ``{p}:t:{thread}:{ns}:blob:{ch}:{ver}`` channel value at a version
* ``{p}:t:{thread}:{ns}:writes:{id}``     hash: pending writes of a checkpoint

Each ``put`` and ``put_writes`` is one MULTI/EXEC transaction: a crash never leaves a
checkpoint without its blobs.
"""

import json
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.asyncio import Redis

EMPTY = "empty"


def _pack(typed: tuple[str, bytes]) -> bytes:
    return typed[0].encode() + b"\x00" + typed[1]


def _unpack(raw: bytes) -> tuple[str, bytes]:
    kind, _, data = raw.partition(b"\x00")
    return kind.decode(), data


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class PlainRedisSaver(BaseCheckpointSaver[str]):
    """Async LangGraph checkpointer on plain Redis; ``expire_thread`` sets a TTL on a thread."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "sextant:checkpoints",
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        self.redis = redis
        self.prefix = prefix

    # -- keys --------------------------------------------------------------------------
    def _threads(self) -> str:
        return f"{self.prefix}:threads"

    def _thread(self, thread_id: str) -> str:
        return f"{self.prefix}:t:{thread_id}"

    def _ns(self, thread_id: str, ns: str) -> str:
        return f"{self._thread(thread_id)}:{ns}"

    def _index(self, thread_id: str, ns: str) -> str:
        return f"{self._ns(thread_id, ns)}:index"

    def _checkpoint(self, thread_id: str, ns: str, checkpoint_id: str) -> str:
        return f"{self._ns(thread_id, ns)}:cp:{checkpoint_id}"

    def _blob(self, thread_id: str, ns: str, channel: str, version: str | int | float) -> str:
        return f"{self._ns(thread_id, ns)}:blob:{channel}:{version}"

    def _writes(self, thread_id: str, ns: str, checkpoint_id: str) -> str:
        return f"{self._ns(thread_id, ns)}:writes:{checkpoint_id}"

    # -- writing -----------------------------------------------------------------------
    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        configurable = config["configurable"]
        thread_id: str = configurable["thread_id"]
        ns: str = configurable.get("checkpoint_ns", "")
        stored = checkpoint.copy()
        values: dict[str, Any] = stored.pop("channel_values")  # type: ignore[misc]
        keys: list[str] = []
        pipe = self.redis.pipeline(transaction=True)
        for channel, version in new_versions.items():
            blob = self._blob(thread_id, ns, channel, version)
            typed = self.serde.dumps_typed(values[channel]) if channel in values else (EMPTY, b"")
            pipe.set(blob, _pack(typed))
            keys.append(blob)
        cp_key = self._checkpoint(thread_id, ns, checkpoint["id"])
        pipe.hset(
            cp_key,
            mapping={
                "checkpoint": _pack(self.serde.dumps_typed(stored)),
                "metadata": _pack(
                    self.serde.dumps_typed(get_checkpoint_metadata(config, metadata))
                ),
                "parent": configurable.get("checkpoint_id") or "",
            },
        )
        pipe.zadd(self._index(thread_id, ns), {checkpoint["id"]: 0})
        pipe.sadd(f"{self._thread(thread_id)}:ns", ns)
        pipe.sadd(self._threads(), thread_id)
        keys += [cp_key, self._index(thread_id, ns), f"{self._thread(thread_id)}:ns"]
        pipe.sadd(f"{self._thread(thread_id)}:keys", *keys)
        await pipe.execute()
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        configurable = config["configurable"]
        thread_id: str = configurable["thread_id"]
        ns: str = configurable.get("checkpoint_ns", "")
        key = self._writes(thread_id, ns, configurable["checkpoint_id"])
        pipe = self.redis.pipeline(transaction=True)
        for idx, (channel, value) in enumerate(writes):
            slot = WRITES_IDX_MAP.get(channel, idx)
            field = json.dumps([task_id, slot])
            record = json.dumps([task_id, channel, task_path]).encode() + b"\x00"
            packed = record + _pack(self.serde.dumps_typed(value))
            if slot >= 0:
                pipe.hsetnx(key, field, packed)  # a retried task never duplicates a write
            else:
                pipe.hset(key, field, packed)  # special channels: the latest wins
        pipe.sadd(f"{self._thread(thread_id)}:keys", key)
        pipe.sadd(self._threads(), thread_id)
        await pipe.execute()

    # -- reading -----------------------------------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        thread_id: str = configurable["thread_id"]
        ns: str = configurable.get("checkpoint_ns", "")
        checkpoint_id = get_checkpoint_id(config)
        if checkpoint_id is None:
            latest = await self.redis.zrevrangebylex(self._index(thread_id, ns), "+", "-", 0, 1)
            if not latest:
                return None
            checkpoint_id = _text(latest[0])
            assert checkpoint_id is not None
        return await self._load(thread_id, ns, checkpoint_id)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        if config is not None:
            thread_ids = [config["configurable"]["thread_id"]]
        else:
            thread_ids = sorted(_text(t) or "" for t in await self.redis.smembers(self._threads()))
        wanted_ns = config["configurable"].get("checkpoint_ns") if config else None
        wanted_id = get_checkpoint_id(config) if config else None
        before_id = get_checkpoint_id(before) if before else None
        remaining = limit
        for thread_id in thread_ids:
            namespaces = sorted(
                _text(n) or "" for n in await self.redis.smembers(f"{self._thread(thread_id)}:ns")
            )
            for ns in namespaces:
                if wanted_ns is not None and ns != wanted_ns:
                    continue
                ids = [
                    _text(i) or ""
                    for i in await self.redis.zrevrangebylex(self._index(thread_id, ns), "+", "-")
                ]
                for checkpoint_id in ids:
                    if wanted_id and checkpoint_id != wanted_id:
                        continue
                    if before_id and checkpoint_id >= before_id:
                        continue
                    loaded = await self._load(thread_id, ns, checkpoint_id)
                    if loaded is None:
                        continue
                    if filter and not all(loaded.metadata.get(k) == v for k, v in filter.items()):
                        continue
                    if remaining is not None:
                        if remaining <= 0:
                            return
                        remaining -= 1
                    yield loaded

    async def _load(self, thread_id: str, ns: str, checkpoint_id: str) -> CheckpointTuple | None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self._checkpoint(thread_id, ns, checkpoint_id))
        pipe.hgetall(self._writes(thread_id, ns, checkpoint_id))
        saved, writes = await pipe.execute()
        if not saved:
            return None
        fields = {_text(k): v for k, v in saved.items()}
        checkpoint: Checkpoint = self.serde.loads_typed(_unpack(fields["checkpoint"]))
        metadata: CheckpointMetadata = self.serde.loads_typed(_unpack(fields["metadata"]))
        parent_id = _text(fields.get("parent")) or None
        channel_values = await self._load_blobs(thread_id, ns, checkpoint["channel_versions"])
        return CheckpointTuple(
            config={
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": ns,
                    "checkpoint_id": checkpoint_id,
                }
            },
            checkpoint={**checkpoint, "channel_values": channel_values},
            metadata=metadata,
            parent_config=(
                {
                    "configurable": {
                        "thread_id": thread_id,
                        "checkpoint_ns": ns,
                        "checkpoint_id": parent_id,
                    }
                }
                if parent_id
                else None
            ),
            pending_writes=self._ordered_writes(writes),
        )

    async def _load_blobs(
        self, thread_id: str, ns: str, versions: ChannelVersions
    ) -> dict[str, Any]:
        channels = list(versions)
        if not channels:
            return {}
        raw = await self.redis.mget([self._blob(thread_id, ns, c, versions[c]) for c in channels])
        values: dict[str, Any] = {}
        for channel, packed in zip(channels, raw, strict=True):
            if packed is None:
                continue
            typed = _unpack(packed if isinstance(packed, bytes) else packed.encode())
            if typed[0] != EMPTY:
                values[channel] = self.serde.loads_typed(typed)
        return values

    def _ordered_writes(self, stored: dict[bytes, bytes]) -> list[tuple[str, str, Any]]:
        rows = []
        for field, packed in stored.items():
            task_id, slot = json.loads(field)
            header, _, value = packed.partition(b"\x00")
            _, channel, task_path = json.loads(header)
            rows.append((task_path, task_id, slot, channel, _unpack(value)))
        rows.sort(key=lambda r: writes_sort_key(r[0], r[1], r[2]))
        return [(task_id, channel, self.serde.loads_typed(v)) for _, task_id, _, channel, v in rows]

    # -- deleting and expiring -----------------------------------------------------------
    async def _thread_keys(self, thread_id: str) -> list[str]:
        members = await self.redis.smembers(f"{self._thread(thread_id)}:keys")
        return [_text(m) or "" for m in members] + [f"{self._thread(thread_id)}:keys"]

    async def adelete_thread(self, thread_id: str) -> None:
        keys = await self._thread_keys(thread_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(*keys)
        pipe.srem(self._threads(), thread_id)
        await pipe.execute()

    async def expire_thread(self, thread_id: str, ttl_s: int) -> None:
        """Let a finished thread's checkpoints disappear after ``ttl_s`` seconds."""
        keys = await self._thread_keys(thread_id)
        pipe = self.redis.pipeline(transaction=True)
        for key in keys:
            pipe.expire(key, ttl_s)
        pipe.srem(self._threads(), thread_id)
        await pipe.execute()

    async def some_threads(self, count: int) -> list[str]:
        """Up to ``count`` thread ids not expired yet, picked at random."""
        members = await self.redis.srandmember(self._threads(), count)
        if not isinstance(members, list):  # with a count, Redis answers with a list
            return []
        return [_text(m) or "" for m in members]

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Versions sort as strings: a zero-padded counter and a random tiebreak."""
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(current.split(".")[0])
        return f"{number + 1:032}.{random.random():016}"  # noqa: S311 - not security

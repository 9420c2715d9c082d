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
checkpoint without its blobs. Besides the base capabilities it has every extended one of
the conformance suite: ``acopy_thread``, ``adelete_for_runs`` and ``aprune``, plus
``expire_thread`` (a TTL on a finished thread) for services that keep threads a while.
"""

import json
import random
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Literal

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


def _unpack(raw: bytes | str) -> tuple[str, bytes]:
    """(type, bytes) of a packed value, whichever way the client decoded the reply."""
    kind, _, data = (raw if isinstance(raw, bytes) else raw.encode()).partition(b"\x00")
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
            typed = _unpack(packed)
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

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, channel value and pending write of a thread (every
        namespace) to another thread id, in one transaction; a source with nothing is
        a no-op. Redis's COPY keeps each value byte for byte."""
        source, target = self._thread(source_thread_id), self._thread(target_thread_id)
        members = [_text(m) or "" for m in await self.redis.smembers(f"{source}:keys")]
        if not members:
            return
        copied = [target + member.removeprefix(source) for member in members]
        pipe = self.redis.pipeline(transaction=True)
        for member, copy in zip(members, copied, strict=True):
            pipe.copy(member, copy, replace=True)
        pipe.sadd(f"{target}:keys", *copied)
        pipe.sadd(self._threads(), target_thread_id)
        await pipe.execute()

    async def adelete_for_runs(self, run_ids: Iterable[str]) -> None:
        """Delete the checkpoints (and their pending writes) that runs made, in every
        thread still kept; channel values no remaining checkpoint uses go too. Reads each
        kept checkpoint's metadata: meant for maintenance, not for every request."""
        runs = set(run_ids)
        if not runs:
            return
        threads = [_text(t) or "" for t in await self.redis.smembers(self._threads())]
        for thread_id in threads:
            for ns in await self._namespaces(thread_id):
                doomed = [
                    checkpoint_id
                    for checkpoint_id in await self._checkpoint_ids(thread_id, ns)
                    if await self._run_id(thread_id, ns, checkpoint_id) in runs
                ]
                await self._delete_checkpoints(thread_id, ns, doomed)

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: Literal["keep_latest", "delete"] | str = "keep_latest",
    ) -> None:
        """``keep_latest``: each namespace of each thread keeps only its newest checkpoint
        (with its pending writes and the channel values it uses); ``delete``: the threads
        go entirely."""
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}: keep_latest or delete")
        for thread_id in thread_ids:
            if strategy == "delete":
                await self.adelete_thread(thread_id)
                continue
            for ns in await self._namespaces(thread_id):
                older = (await self._checkpoint_ids(thread_id, ns))[1:]
                await self._delete_checkpoints(thread_id, ns, older)

    async def _namespaces(self, thread_id: str) -> list[str]:
        return sorted(
            _text(n) or "" for n in await self.redis.smembers(f"{self._thread(thread_id)}:ns")
        )

    async def _checkpoint_ids(self, thread_id: str, ns: str) -> list[str]:
        """Newest first."""
        ids = await self.redis.zrevrangebylex(self._index(thread_id, ns), "+", "-")
        return [_text(i) or "" for i in ids]

    async def _run_id(self, thread_id: str, ns: str, checkpoint_id: str) -> object:
        packed = await self.redis.hget(self._checkpoint(thread_id, ns, checkpoint_id), "metadata")
        if packed is None:
            return None
        metadata: CheckpointMetadata = self.serde.loads_typed(_unpack(packed))
        return metadata.get("run_id")

    async def _delete_checkpoints(self, thread_id: str, ns: str, doomed: list[str]) -> None:
        """Delete these checkpoints of one namespace with their writes, then the channel
        values that no checkpoint left in it refers to."""
        if not doomed:
            return
        dead = [self._checkpoint(thread_id, ns, c) for c in doomed]
        dead += [self._writes(thread_id, ns, c) for c in doomed]
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(*dead)
        pipe.zrem(self._index(thread_id, ns), *doomed)
        pipe.srem(f"{self._thread(thread_id)}:keys", *dead)
        await pipe.execute()
        await self._drop_unused_blobs(thread_id, ns)

    async def _drop_unused_blobs(self, thread_id: str, ns: str) -> None:
        used = set()
        for checkpoint_id in await self._checkpoint_ids(thread_id, ns):
            packed = await self.redis.hget(
                self._checkpoint(thread_id, ns, checkpoint_id), "checkpoint"
            )
            if packed is None:
                continue
            checkpoint: Checkpoint = self.serde.loads_typed(_unpack(packed))
            used |= {
                self._blob(thread_id, ns, channel, version)
                for channel, version in checkpoint["channel_versions"].items()
            }
        blob_prefix = f"{self._ns(thread_id, ns)}:blob:"
        members = await self.redis.smembers(f"{self._thread(thread_id)}:keys")
        unused = [
            key
            for key in (_text(m) or "" for m in members)
            if key.startswith(blob_prefix) and key not in used
        ]
        if unused:
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(*unused)
            pipe.srem(f"{self._thread(thread_id)}:keys", *unused)
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

"""LangGraph checkpoints on plain Redis."""

from sextant_orchestrator.infrastructure.checkpoints.redis_saver import PlainRedisSaver

__all__ = ["PlainRedisSaver"]

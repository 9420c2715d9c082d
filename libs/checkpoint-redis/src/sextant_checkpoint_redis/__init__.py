"""A LangGraph checkpointer on plain Redis: ``PlainRedisSaver``."""

from sextant_checkpoint_redis.saver import PlainRedisSaver

__all__ = ["PlainRedisSaver"]

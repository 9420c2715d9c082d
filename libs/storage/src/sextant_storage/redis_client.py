"""The one way services build an asyncio Redis client."""

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from sextant_platform.settings import RedisSettings


def create_redis(settings: RedisSettings) -> "Redis":
    """A pooled client that retries connection errors with backoff (e.g. a Redis restart)
    and gives up on a server that stops answering (socket and connect timeouts)."""
    password = settings.PASSWORD.get_secret_value() if settings.PASSWORD else None
    client: Redis = Redis.from_url(
        settings.URL,
        password=password,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=8),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        socket_connect_timeout=settings.CONNECT_TIMEOUT_S,
        socket_timeout=settings.SOCKET_TIMEOUT_S,
    )
    return client

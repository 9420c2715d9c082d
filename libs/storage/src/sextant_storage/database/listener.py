"""One PostgreSQL ``LISTEN`` connection per process, re-opened with backoff when it drops.

Notifications are a latency (and round-trip) optimisation only: a listener is down for
a while when PostgreSQL restarts, and whatever was notified meanwhile is gone. Users
therefore check ``listening`` and fall back to reading the tables while it is clear, and
``on_listening`` runs after every (re)connect so they can re-read what they may have
missed.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from sextant_platform.background import BackgroundTask
from sextant_platform.settings import PostgresSettings

logger = logging.getLogger(__name__)


class ListenerClosed(ConnectionError):
    """The LISTEN connection ended; it is re-opened with backoff."""


class PostgresListener:
    """Calls ``on_notify(payload)`` for every notification on ``channel``."""

    def __init__(
        self,
        settings: PostgresSettings,
        *,
        channel: str,
        on_notify: Callable[[str], None],
        on_listening: Callable[[], None] | None = None,
        name: str,
    ) -> None:
        self._settings = settings
        self._channel = channel
        self._on_notify = on_notify
        self._on_listening = on_listening
        self._name = name
        self._task = BackgroundTask(self._listen_forever, name=name)
        self.listening = asyncio.Event()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._on_notify(payload)

    async def _listen_once(self) -> None:
        settings = self._settings
        connection = await asyncpg.connect(
            host=settings.HOST,
            port=settings.PORT,
            user=settings.USER,
            password=settings.PASSWORD.get_secret_value(),
            database=settings.DB,
            timeout=settings.CONNECT_TIMEOUT_S,
            command_timeout=settings.STATEMENT_TIMEOUT_S or None,
        )
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _conn: closed.set())
        try:
            await connection.add_listener(self._channel, self._notified)
            self.listening.set()
            if self._on_listening is not None:
                self._on_listening()
            await closed.wait()
            raise ListenerClosed(f"the LISTEN connection for {self._channel} closed")
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    async def _listen_forever(self) -> None:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((OSError, asyncpg.PostgresError, ConnectionError)),
            wait=wait_exponential_jitter(multiplier=0.5, max=10),
            before_sleep=lambda state: logger.warning(
                "listener disconnected; reconnecting",
                extra={"listener": self._name, "attempt": state.attempt_number},
            ),
        ):
            with attempt:
                await self._listen_once()

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

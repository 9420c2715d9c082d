"""Wake SSE streams when their analysis has a new event (PostgreSQL LISTEN/NOTIFY).

One dedicated connection per ingress process listens on the channel and fans each
notification out to the streams following that analysis, so a thousand open streams
cost one connection, not a thousand. Notifications are a latency optimisation only:
every stream also re-reads the log at a fixed interval, so a lost notification (or a
listener that is reconnecting) delays an event by at most that interval, never loses it.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from sextant_platform.background import BackgroundTask
from sextant_platform.settings import PostgresSettings

logger = logging.getLogger(__name__)


class ListenerClosed(ConnectionError):
    """The LISTEN connection ended; it is re-opened with backoff."""


class EventWakeups:
    def __init__(self, settings: PostgresSettings, *, channel: str) -> None:
        self._settings = settings
        self._channel = channel
        self._signals: dict[UUID, set[asyncio.Event]] = defaultdict(set)
        self._task = BackgroundTask(self._listen_forever, name="event-wakeups")
        self.listening = asyncio.Event()

    @contextlib.asynccontextmanager
    async def signal_for(self, analysis_id: UUID) -> AsyncIterator[asyncio.Event]:
        """An event that is set whenever ``analysis_id`` gets a new record.

        Take it *before* reading the log, so a notification between the read and the
        wait is not missed; clear it after each wake-up.
        """
        signal = asyncio.Event()
        self._signals[analysis_id].add(signal)
        try:
            yield signal
        finally:
            followers = self._signals.get(analysis_id)
            if followers is not None:
                followers.discard(signal)
                if not followers:
                    del self._signals[analysis_id]

    def _on_notification(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            for signal in self._signals.get(UUID(payload), ()):
                signal.set()

    async def _listen_once(self) -> None:
        settings = self._settings
        connection = await asyncpg.connect(
            host=settings.HOST,
            port=settings.PORT,
            user=settings.USER,
            password=settings.PASSWORD.get_secret_value(),
            database=settings.DB,
        )
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _conn: closed.set())
        try:
            await connection.add_listener(self._channel, self._on_notification)
            self.listening.set()
            await closed.wait()
            raise ListenerClosed("the LISTEN connection to PostgreSQL closed")
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    async def _listen_forever(self) -> None:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((OSError, asyncpg.PostgresError, ConnectionError)),
            wait=wait_exponential_jitter(multiplier=0.5, max=10),
            before_sleep=lambda state: logger.warning(
                "event listener disconnected; reconnecting", extra={"attempt": state.attempt_number}
            ),
        ):
            with attempt:
                await self._listen_once()

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

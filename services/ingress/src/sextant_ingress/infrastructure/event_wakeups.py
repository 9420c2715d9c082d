"""Wake SSE streams when their analysis has a new event (PostgreSQL LISTEN/NOTIFY).

One dedicated connection per ingress process listens on the channel and fans each
notification out to the streams following that analysis, so a thousand open streams
cost one connection, not a thousand. Notifications are a latency optimisation only:
every stream also re-reads the log at a fixed interval, so a lost notification (or a
listener that is reconnecting) delays an event by at most that interval, never loses it.
"""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from uuid import UUID

from sextant_platform.settings import PostgresSettings
from sextant_storage.database.listener import PostgresListener


class EventWakeups:
    def __init__(self, settings: PostgresSettings, *, channel: str) -> None:
        self._signals: dict[UUID, set[asyncio.Event]] = defaultdict(set)
        self._listener = PostgresListener(
            settings, channel=channel, on_notify=self._wake, name="event-wakeups"
        )
        self.listening = self._listener.listening

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

    def _wake(self, payload: str) -> None:
        with contextlib.suppress(ValueError):
            for signal in self._signals.get(UUID(payload), ()):
                signal.set()

    def start(self) -> None:
        self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

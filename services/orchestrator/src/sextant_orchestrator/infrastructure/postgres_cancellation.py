"""The CancellationSignals port on PostgreSQL LISTEN/NOTIFY.

Why: the cancellation flag lives in the ``analyses`` row, and reading it at every step
boundary cost six transactions per analysis, about half of the orchestrator's database
round trips. The flag is set in one place (``request_cancel``), which also notifies
``CANCEL_CHANNEL`` in the same transaction; every orchestrator process listens, so a
boundary needs the row only after a notification for its analysis, on the first check
of a run, and whenever the listener is down or has just reconnected (notifications sent
meanwhile are lost, so every watched analysis is read again once).
"""

import contextlib
from collections.abc import Iterator
from uuid import UUID

from sextant_platform.settings import PostgresSettings
from sextant_storage.database.listener import PostgresListener

CANCEL_CHANNEL = "sextant_analysis_cancel"


class PostgresCancellationSignals:
    """Per watched analysis: a generation bumped by every notification (and reconnect),
    and the generation the repository last said "not cancelled" for."""

    def __init__(self, settings: PostgresSettings) -> None:
        self._generation: dict[UUID, int] = {}
        self._cleared: dict[UUID, int] = {}
        self._listener = PostgresListener(
            settings,
            channel=CANCEL_CHANNEL,
            on_notify=self._notified,
            on_listening=self._missed_anything,
            name="cancel-signals",
        )
        self.listening = self._listener.listening

    @contextlib.contextmanager
    def watch(self, analysis_id: UUID) -> Iterator[None]:
        self._generation.setdefault(analysis_id, 0)
        try:
            yield
        finally:
            self._generation.pop(analysis_id, None)
            self._cleared.pop(analysis_id, None)

    def needs_check(self, analysis_id: UUID) -> int | None:
        generation = self._generation.get(analysis_id, 0)
        if self.listening.is_set() and self._cleared.get(analysis_id) == generation:
            return None
        return generation

    def cleared(self, analysis_id: UUID, token: int) -> None:
        if self._generation.get(analysis_id) == token:  # no notification since the read
            self._cleared[analysis_id] = token

    def _notified(self, payload: str) -> None:
        with contextlib.suppress(ValueError):
            analysis_id = UUID(payload)
            if analysis_id in self._generation:
                self._generation[analysis_id] += 1

    def _missed_anything(self) -> None:
        for analysis_id in self._generation:
            self._generation[analysis_id] += 1

    def start(self) -> None:
        self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

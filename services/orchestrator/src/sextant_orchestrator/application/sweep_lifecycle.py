"""The use case: make sure every admitted analysis ends, and that old rows go.

What the request path cannot guarantee by itself, a periodic sweep does:

* **Re-drive.** A run whose process died is normally taken over when Kafka redelivers
  its request. When nothing will redeliver it (its record was committed or
  dead-lettered, for instance because the final write failed while PostgreSQL was
  away), the lease just expires. The sweep publishes the request again; an instance
  claims it and resumes from the checkpoint.
* **Deadline.** Whatever holds an analysis up (re-drives that keep dying, a request
  lost before admission, a model that never answers), it ends ``failed`` with
  ``deadline_exceeded`` once it is older than the deadline, with its one terminal
  event. A run still going somewhere is told, and stops at its next step boundary.
* **Interrupts.** An analysis waiting for an answer past its interrupt's timeout is
  woken; its run fails it with ``interrupt_timed_out`` or takes the declared default.
  (The deadline does not run while an analysis waits for a person, and starts again
  when it is woken.)
* **Retention.** Published non-terminal events, recorded stream events, pending
  cancellations and dedupe marks older than the retention are deleted; checkpoints of
  analyses that ended without retiring them (the give-up and deadline paths) are let
  expire.
"""

import logging
from dataclasses import dataclass, field

from sextant_orchestrator.application.run_analysis import RunAnalysis
from sextant_orchestrator.domain.ports import LifecycleStore, WorkflowRunner

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepPolicy:
    redrive_grace_s: float = 60.0
    """How long past its expiry a lease must be before its analysis is driven again."""
    redrive_every_s: float = 300.0
    """The least time between two re-drives of one analysis."""
    deadline_s: float = 3600.0
    """An analysis not terminal this long after it was accepted ends failed."""
    retention_s: float = 7 * 24 * 3600.0
    batch: int = 500
    """The most rows each part of one sweep touches."""


@dataclass
class SweepReport:
    redriven: int = 0
    overdue: int = 0
    retired: int = 0
    timed_out: int = 0
    pruned: dict[str, int] = field(default_factory=dict)


class SweepLifecycle:
    def __init__(
        self,
        *,
        store: LifecycleStore,
        run: RunAnalysis,
        workflow: WorkflowRunner,
        policy: SweepPolicy,
    ) -> None:
        self._store = store
        self._run = run
        self._workflow = workflow
        self._policy = policy

    async def __call__(self) -> SweepReport:
        policy = self._policy
        report = SweepReport()
        report.redriven = await self._store.redrive_expired(
            grace_s=policy.redrive_grace_s, every_s=policy.redrive_every_s, limit=policy.batch
        )
        report.timed_out = await self._store.wake_expired_interrupts(limit=policy.batch)
        overdue = await self._store.overdue(deadline_s=policy.deadline_s, limit=policy.batch)
        ended = [
            analysis.analysis_id
            for analysis in overdue
            if await self._run.end_overdue(analysis, policy.deadline_s)
        ]
        report.overdue = len(ended)
        if ended:
            await self._store.wake_runs(ended)
        report.pruned = await self._store.prune(retention_s=policy.retention_s, limit=policy.batch)
        threads = await self._workflow.unretired(policy.batch)
        for thread in await self._store.finished_among(threads):
            await self._workflow.retire(thread)
            report.retired += 1
        if (
            report.redriven
            or report.overdue
            or report.retired
            or report.timed_out
            or any(report.pruned.values())
        ):
            logger.info(
                "lifecycle sweep",
                extra={
                    "redriven": report.redriven,
                    "overdue": report.overdue,
                    "retired": report.retired,
                    "interrupts_timed_out": report.timed_out,
                    "pruned": report.pruned,
                },
            )
        return report

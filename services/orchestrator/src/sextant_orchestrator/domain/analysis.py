"""The analysis lifecycle: the one state machine every analysis follows.

::

    accepted --claim--> running --finish--> completed | failed | cancelled
        |                  |  ^                    ^
        |                pause wake (answer,       |
        |                  v  |  cancel, timeout)  |
        |               interrupted ---finish------+  (interrupt timeout)
        +---------------finish---------------------+  (deadline, give-up, cancel first)

The rules, each a method of :class:`Analysis` that returns the next state or refuses:

* **claim** - only an analysis that has not ended, and only when nobody else holds a
  live lease on it (the holder itself may claim again: a redelivery). A new owner
  counts one more attempt.
* **renew** - only the lease holder, only while the analysis has not ended.
* **request_cancel** - only an analysis that has not ended; the first reason stands.
  An interrupted one is woken with it (nobody runs it; its run then ends it).
* **finish** - only an analysis that has not ended: exactly one terminal state (and
  with it exactly one terminal event); the lease goes with it.
* **pause** - only the lease holder of a running analysis: it waits for an answer
  (``interrupted``), held by nobody, so no instance claims it meanwhile.
* **wake** - only an interrupted analysis: it is ``running`` again with no lease, for
  the first instance to claim (it was answered, cancelled, or its wait ran out).

The orchestrator owns this lifecycle: the ingress records a submission (``accepted``),
sends commands (cancel) through Kafka and reads through a view; it never changes these
columns. The PostgreSQL repository applies each rule as one conditional statement
(atomic when instances race, one round trip); a test runs every rule against it and
this module side by side and checks that they decide alike.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from sextant_contracts.status import (
    RUNNABLE_STATUSES,
    TERMINAL_STATUSES,
    UNFINISHED_STATUSES,
    AnalysisStatus,
    sql_list,
)

__all__ = [
    "RUNNABLE_STATUSES",
    "TERMINAL_STATUSES",
    "UNFINISHED_STATUSES",
    "AlreadyEnded",
    "Analysis",
    "AnalysisStatus",
    "Lease",
    "LeaseLive",
    "LifecycleRefused",
    "NotLeaseHolder",
    "NotWaiting",
    "OverdueAnalysis",
    "Waiting",
    "sql_list",
]


class LifecycleRefused(RuntimeError):
    """The rule does not allow this change now; nothing changed."""


class AlreadyEnded(LifecycleRefused):
    """The analysis is terminal: it changes no more."""


class NotLeaseHolder(LifecycleRefused):
    """Only the lease holder may renew it."""


class Waiting(LifecycleRefused):
    """The analysis waits for an answer: nobody may claim it until it is woken."""


class NotWaiting(LifecycleRefused):
    """Only an interrupted analysis can be woken."""


class LeaseLive(LifecycleRefused):
    """Another owner's lease has not expired yet."""

    def __init__(self, owner: str, expires_in_s: float) -> None:
        super().__init__(f"held by {owner} for {expires_in_s:.1f}s more")
        self.expires_in_s = expires_in_s


@dataclass(frozen=True)
class OverdueAnalysis:
    """An unfinished analysis past its deadline: what ending it needs, and no more."""

    analysis_id: UUID
    tenant_id: str


@dataclass(frozen=True)
class Lease:
    owner: str
    expires_at: datetime


@dataclass(frozen=True)
class Analysis:
    analysis_id: UUID
    tenant_id: str
    status: AnalysisStatus
    lease: Lease | None = None
    attempts: int = 0
    cancel_reason: str | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def claim(self, owner: str, *, now: datetime, lease_s: float) -> "Analysis":
        self._not_ended()
        if self.status == AnalysisStatus.INTERRUPTED:
            raise Waiting(f"analysis {self.analysis_id} waits for an answer")
        if self.lease is not None and self.lease.owner != owner and self.lease.expires_at >= now:
            raise LeaseLive(self.lease.owner, (self.lease.expires_at - now).total_seconds())
        new_owner = self.lease is None or self.lease.owner != owner
        return replace(
            self,
            status=AnalysisStatus.RUNNING,
            lease=Lease(owner, now + timedelta(seconds=lease_s)),
            attempts=self.attempts + (1 if new_owner else 0),
        )

    def renew(self, owner: str, *, now: datetime, lease_s: float) -> "Analysis":
        self._not_ended()
        if self.lease is None or self.lease.owner != owner:
            raise NotLeaseHolder(f"{owner} does not hold the lease")
        return replace(self, lease=Lease(owner, now + timedelta(seconds=lease_s)))

    def request_cancel(self, reason: str) -> "Analysis":
        self._not_ended()
        if self.cancel_reason is not None:
            return self  # the first reason stands
        cancelled = replace(self, cancel_reason=reason)
        # nobody runs an interrupted analysis: it wakes, and its run ends it cancelled
        return cancelled.wake() if self.status == AnalysisStatus.INTERRUPTED else cancelled

    def pause(self, owner: str) -> "Analysis":
        self._not_ended()
        if self.status != AnalysisStatus.RUNNING or self.lease is None or self.lease.owner != owner:
            raise NotLeaseHolder(f"{owner} does not hold the lease of a running analysis")
        return replace(self, status=AnalysisStatus.INTERRUPTED, lease=None)

    def wake(self) -> "Analysis":
        if self.status != AnalysisStatus.INTERRUPTED:
            raise NotWaiting(f"analysis {self.analysis_id} is {self.status}, not interrupted")
        return replace(self, status=AnalysisStatus.RUNNING, lease=None)

    def finish(self, status: AnalysisStatus) -> "Analysis":
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"{status} is not a terminal status")
        self._not_ended()
        return replace(self, status=status, lease=None)

    def _not_ended(self) -> None:
        if self.ended:
            raise AlreadyEnded(f"analysis {self.analysis_id} is already {self.status}")

"""Why an analysis stops early: failures the workflow reports, and ones worth retrying."""


class StepFailed(RuntimeError):
    """A step cannot go on; the analysis ends as ``failed`` with ``code`` and ``reason``.

    ``code`` is stable and machine-readable (``dataset_unavailable``, ``llm_unavailable``,
    ``llm_budget_exhausted``, ``dependency_unavailable``); ``reason`` is for humans.
    """

    def __init__(self, step: str, code: str, reason: str) -> None:
        super().__init__(reason)
        self.step = step
        self.code = code
        self.reason = reason


class DependencyUnavailable(RuntimeError):
    """Another Sextant service (tools, embeddings) did not answer in time; the analysis
    ends as ``failed`` with code ``dependency_unavailable``."""


class TransientFailure(RuntimeError):
    """Our own infrastructure (checkpoint store, database) failed for a moment; the run is
    resumed from its last checkpoint after a backoff instead of ending as failed."""


class LeaseHeld(RuntimeError):
    """Another orchestrator instance is running this analysis; wait for it to finish or
    for its lease to expire."""

    def __init__(self, analysis_id: str, expires_in_s: float) -> None:
        super().__init__(f"analysis {analysis_id} is running elsewhere")
        self.expires_in_s = expires_in_s


class AnalysisIdConflict(ValueError):
    """A request reuses an analysis id that belongs to another tenant: never run it."""


class UnstorableOutcome(ValueError):
    """The database refused a terminal outcome for what it holds (not for an outage):
    the analysis ends ``failed`` with code ``result_unstorable`` instead."""


class ThreadBusy(RuntimeError):
    """An earlier question of the same thread has not ended; this one waits its turn."""

    def __init__(self, thread_id: str, ahead: str) -> None:
        super().__init__(f"analysis {ahead} of thread {thread_id} has not ended")
        self.ahead = ahead

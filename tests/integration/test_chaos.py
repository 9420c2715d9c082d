"""The short ``make chaos``: about 20 analyses (REST and Kafka) while each service, the
Kafka broker, PostgreSQL and Redis is kill -9'd once and SIGSTOPped once, then the bad
record matrix published with kcat. Every analysis ends, once; every bad record gets a
clear answer and the partition behind it keeps flowing.

It kills the servers every other test shares, so it runs last (``chaos`` marker).
"""

import pytest

from bench.chaos import run_chaos

pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.timeout(1500)]


async def test_every_analysis_ends_once_whatever_is_killed() -> None:
    report = await run_chaos(analyses=20, faults_per_kind=1, seed=11)

    assert report["by_channel"]["rest"] + report["by_channel"]["kafka"] == 20
    assert report["by_channel"]["probe"] == sum(report["faults"].values())  # one per fault
    assert report["restart_failures"] == []
    assert report["stuck"] == 0, report
    assert report["lost"] == 0, report
    assert report["duplicate_terminal_events"] == 0, report
    assert set(report["faults"]) == {
        f"{kind}:{target}"
        for kind in ("kill", "pause")
        for target in (
            "tools",
            "orchestrator-1",
            "orchestrator-2",
            "ingress",
            "kafka",
            "postgres",
            "redis",
        )
    }, report["faults"]
    # After every fault a new analysis was served again (its probe completed).
    assert None not in report["max_recovery_s"].values(), report["max_recovery_s"]
    for name, case in report["bad_inputs"].items():
        assert case["partition_kept_flowing"], (name, case)
        assert not case["outcome"].startswith("no trace"), (name, case)

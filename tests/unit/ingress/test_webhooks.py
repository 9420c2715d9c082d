"""Webhook signing (the Standard Webhooks test vector), the retry schedule, and what the
deliverer does with each kind of attempt."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from sextant_ingress.application.deliver_webhooks import DeliverWebhooks
from sextant_ingress.domain.webhooks import Attempt, DueDelivery, RetryPolicy, signature


def test_signatures_match_the_standard_webhooks_test_vector() -> None:
    # From the Standard Webhooks specification's reference libraries.
    assert (
        signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body=b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_the_backoff_doubles_with_jitter_up_to_its_cap_and_gives_up_in_time() -> None:
    policy = RetryPolicy(backoff_s=1.0, backoff_max_s=8.0, give_up_after_s=60.0)
    for attempts, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)):
        assert ceiling / 2 <= policy.delay_s(attempts) <= ceiling
    start = datetime(2026, 12, 3, tzinfo=UTC)
    assert not policy.gives_up(first_try=start, now=start + timedelta(seconds=50), delay_s=9)
    assert policy.gives_up(first_try=start, now=start + timedelta(seconds=55), delay_s=9)


class QueueStub:
    """The DeliveryQueue port, recording each outcome (the PostgreSQL adapter is tested
    in tests/integration/ingress/test_webhooks.py)."""

    def __init__(self, due: list[DueDelivery]) -> None:
        self.due = due
        self.outcomes: list[tuple[str, UUID, int | None]] = []

    async def claim_due(self, *, limit: int, lease_s: float) -> list[DueDelivery]:
        claimed, self.due = self.due[:limit], self.due[limit:]
        return claimed

    async def delivered(self, delivery_id: UUID, *, status_code: int) -> None:
        self.outcomes.append(("delivered", delivery_id, status_code))

    async def retry_later(
        self, delivery_id: UUID, *, status_code: int | None, error: str, delay_s: float
    ) -> None:
        self.outcomes.append(("retry", delivery_id, status_code))

    async def give_up(self, delivery_id: UUID, *, status_code: int | None, error: str) -> None:
        self.outcomes.append(("failed", delivery_id, status_code))


class SenderStub:
    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt

    async def send(self, delivery: DueDelivery) -> Attempt:
        return self.attempt

    async def vet(self, url: str, *, tenant_id: str) -> None:
        return None


def _due(age_s: float = 0.0) -> DueDelivery:
    return DueDelivery(
        delivery_id=uuid4(),
        tenant_id="acme",
        event_type="completed",
        payload={"type": "analysis.completed"},
        attempts=1,
        created_at=datetime.now(UTC) - timedelta(seconds=age_s),
        url="https://hooks.example.com/x",
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )


@pytest.mark.parametrize(
    ("attempt", "age_s", "outcome"),
    [
        (Attempt(delivered=True, status_code=204), 0, "delivered"),
        (Attempt(delivered=False, status_code=500, error="HTTP 500"), 0, "retry"),
        (Attempt(delivered=False, error="ConnectError: refused"), 0, "retry"),
        (Attempt(delivered=False, status_code=500, error="HTTP 500"), 3600, "failed"),
        (Attempt(delivered=False, error="refused: blocked", refused=True), 0, "failed"),
        (Attempt(delivered=False, status_code=410, error="HTTP 410"), 0, "failed"),
    ],
)
async def test_each_attempt_is_delivered_retried_or_failed(
    attempt: Attempt, age_s: float, outcome: str
) -> None:
    due = _due(age_s)
    queue = QueueStub([due])
    deliver = DeliverWebhooks(
        queue, SenderStub(attempt), policy=RetryPolicy(give_up_after_s=600), lease_s=30
    )
    assert await deliver.once() == 1
    assert queue.outcomes == [(outcome, due.delivery_id, attempt.status_code)]
    assert await deliver.once() == 0

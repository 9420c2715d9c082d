"""Benchmark: descriptive statistics over a generated 1M x 10 CSV, service vs raw pandas.

Same run, same data: ``raw_s`` is in-process ``pd.read_csv`` + the statistics tool's own
pandas calls; ``service_s`` is upload to PostgreSQL -> invoke over Kafka -> reply.
Writes bench/results/tools.json with raw_s, service_s and ratio = raw_s / service_s.
Not a test: run it with ``make bench-tools`` (``python -m bench.tools_bench``; needs
``make infra-up``).
"""

import asyncio
import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text

from sextant_contracts import ToolInvocationReplied, ToolInvocationRequested
from sextant_platform.kafka import create_broker
from sextant_platform.kafka.request_reply import KafkaRequestReply
from sextant_tools.bootstrap import bootstrap
from sextant_tools.presentation.settings import ToolsSettings
from tests.integration.kafka_helpers import skip_group_to_end

ROWS, COLUMNS = 1_000_000, 10
REPEATS = 5
"""Both sides are timed REPEATS times and report their fastest run (as ``timeit`` advises):
the first run of either pays one-off costs (fresh memory pages, pyarrow's and pandas'
first calls) that a long-running service or notebook pays once, not per request, and the
service pays them once per worker process (two by default)."""
RESULTS = Path(__file__).parent / "results" / "tools.json"


def generate_csv() -> bytes:
    rng = np.random.default_rng(42)
    frame = pd.DataFrame(
        rng.normal(100, 15, size=(ROWS, COLUMNS)).round(3),
        columns=[f"c{i}" for i in range(COLUMNS)],
    )
    return frame.to_csv(index=False).encode()


def raw_pandas(content: bytes) -> float:
    started = time.perf_counter()
    frame = pd.read_csv(io.BytesIO(content))
    for column in frame.columns:
        series = frame[column]
        series.count(), series.isna().sum(), series.mean(), series.std(), series.min()
        series.quantile([0.25, 0.5, 0.75]), series.max()
    return time.perf_counter() - started


async def _invoke(
    service: Any, client: KafkaRequestReply[ToolInvocationReplied], content: bytes
) -> None:
    """Upload -> invoke over Kafka -> await the reply, as the orchestrator would."""
    saved = await service.store.save(tenant_id="bench", media_type="text/csv", content=content)
    request = ToolInvocationRequested(
        request_id=uuid.uuid4(),
        reply_topic=client.reply_topic,
        tool_name="descriptive_statistics",
        dataset_id=saved.dataset_id,
    )
    reply = await client.request(
        request, request_id=request.request_id, tenant_id="bench", timeout_s=300
    )
    assert reply.error is None, reply.error


async def through_service(content: bytes) -> float:
    """Fastest of REPEATS invocations on a started service (group joined, workers up).

    Each run uploads the dataset again under a new id and sends a new request id, so no
    run is answered from the dataset cache or the duplicate-request cache.
    """
    settings = ToolsSettings(
        CONSUMER_GROUP="tools-bench", MAX_DATASET_BYTES=len(content) + 1, TIMEOUT_S=300
    )
    # Invocations other runs left on the topic (an e2e bench's, say) would be served first.
    await skip_group_to_end(settings.KAFKA, settings.CONSUMER_GROUP, ["tools.requested.v1"])
    service = bootstrap(settings)
    client_broker = create_broker(settings.KAFKA, client_id="tools-bench-client")
    client = KafkaRequestReply(
        client_broker,
        settings.KAFKA,
        request_topic="tools.requested.v1",
        reply_topic="tools.replied.v1",
        reply_model=ToolInvocationReplied,
    )
    await service.start()
    await client_broker.start()
    await client.ready()
    try:
        await _invoke(service, client, b"c0,c1\n1,2\n3,4\n")  # warm-up
        timings = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            await _invoke(service, client, content)
            timings.append(time.perf_counter() - started)
        print("service runs (s): " + ", ".join(f"{seconds:.2f}" for seconds in timings))
        return min(timings)
    finally:
        async with service.engine.begin() as connection:  # leave no 74 MB rows behind
            await connection.execute(text("DELETE FROM datasets WHERE tenant_id = 'bench'"))
        await client.close()
        await client_broker.stop()
        await service.close()


def main() -> None:
    content = generate_csv()
    print(f"dataset: {ROWS} rows x {COLUMNS} columns, {len(content) / 1e6:.1f} MB CSV")
    raw_timings = [raw_pandas(content) for _ in range(REPEATS)]
    print("raw pandas runs (s): " + ", ".join(f"{seconds:.2f}" for seconds in raw_timings))
    raw_s = min(raw_timings)
    service_s = asyncio.run(through_service(content))
    ratio = raw_s / service_s
    print(
        f"raw pandas: {raw_s:.2f} s | service (upload -> Kafka -> reply): {service_s:.2f} s | "
        f"ratio raw/service: {ratio:.2f}"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "raw_s": raw_s,
                "service_s": service_s,
                "ratio": ratio,
                "rows": ROWS,
                "columns": COLUMNS,
                "bytes": len(content),
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

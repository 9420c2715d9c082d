"""The ingress's own Prometheus metrics (the HTTP golden signals come from the platform)."""

from prometheus_client import Counter, Gauge

ANALYSES_SUBMITTED = Counter(
    "sextant_ingress_analyses_submitted_total",
    "Analyses submitted over REST: 'accepted' new ones, 'replayed' idempotent repeats.",
    ["outcome"],
)
DATASETS_UPLOADED_BYTES = Counter(
    "sextant_ingress_dataset_bytes_total", "Bytes of datasets stored through the API."
)
SSE_STREAMS_OPEN = Gauge("sextant_ingress_sse_streams_open", "Event streams being served now.")
EVENTS_RECORDED = Counter(
    "sextant_ingress_events_recorded_total",
    "Progress and terminal events recorded for SSE ('new'), or seen again ('duplicate').",
    ["kind", "outcome"],
)

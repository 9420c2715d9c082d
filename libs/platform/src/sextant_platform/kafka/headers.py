"""Names of the Kafka headers Sextant itself reads and writes."""

PREFIX = "x-sextant-"

ATTEMPT = "x-sextant-attempt"
"""Delivery number of this message (1 for the first delivery)."""

NOT_BEFORE = "x-sextant-not-before"
"""Unix time (seconds) before which a retry must not run."""

ORIGINAL_TOPIC = "x-sextant-original-topic"
ORIGINAL_PARTITION = "x-sextant-original-partition"
ORIGINAL_OFFSET = "x-sextant-original-offset"
LAST_ERROR = "x-sextant-last-error"

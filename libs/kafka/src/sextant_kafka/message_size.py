"""The largest record the services publish, in one place."""

MAX_MESSAGE_BYTES = 1_000_000
"""Below the brokers' default ``message.max.bytes`` and aiokafka's ``max_request_size``
(both 1 MiB), with room for the key and headers. A record over it is refused by Kafka:
whoever waits for it (a requester, an SSE follower) would wait in vain."""

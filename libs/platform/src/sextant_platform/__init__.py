"""Every service's runtime: settings, logging and tracing, metrics, health probes, the
HTTP side, retry policies and ``run_service()``.

Kafka lives in ``sextant_kafka`` and the stores (PostgreSQL, the outbox, Redis) in
``sextant_storage``: each service installs only the libraries it uses.
"""

"""Sextant's stores: PostgreSQL (engine, listener, migrations of every service's tables),
the transactional outbox that relays rows to Kafka, the Redis client, provisioning.

A library of its own so that a service without a database (embeddings) installs none of
SQLAlchemy, asyncpg, Alembic or redis.
"""

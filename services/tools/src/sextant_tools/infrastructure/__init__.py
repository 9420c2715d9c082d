"""Infrastructure layer of the tools service: adapters for Kafka, SQL, Redis, models."""

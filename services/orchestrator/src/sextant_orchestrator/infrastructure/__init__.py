"""Infrastructure layer of the orchestrator service: adapters for Kafka, SQL, Redis, models."""

"""Infrastructure layer of the ingress service: adapters for Kafka, SQL, Redis, models."""

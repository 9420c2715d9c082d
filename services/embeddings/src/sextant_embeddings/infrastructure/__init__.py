"""Infrastructure layer of the embeddings service: adapters for Kafka, SQL, Redis, models."""

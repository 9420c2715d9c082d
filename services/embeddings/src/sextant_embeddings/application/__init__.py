"""Application layer of the embeddings service: use cases and DTOs, with tenacity policies."""

"""Application layer of the tools service: use cases and DTOs, with tenacity policies."""

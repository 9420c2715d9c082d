"""Application layer of the orchestrator service: use cases and DTOs, with tenacity policies."""

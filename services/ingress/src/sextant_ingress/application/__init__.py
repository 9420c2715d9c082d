"""Application layer of the ingress service: use cases and DTOs, with tenacity policies."""

"""Presentation layer of the embeddings service: entrypoints (subscribers, HTTP) and settings."""

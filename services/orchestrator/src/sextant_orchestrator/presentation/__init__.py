"""Presentation layer of the orchestrator service: entrypoints (subscribers, HTTP) and settings."""

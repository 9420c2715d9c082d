"""Presentation layer of the tools service: entrypoints (subscribers, HTTP) and settings."""

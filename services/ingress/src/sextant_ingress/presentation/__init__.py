"""Presentation layer of the ingress service: entrypoints (subscribers, HTTP) and settings."""

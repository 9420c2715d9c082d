"""Domain layer of the embeddings service.

Entities, value objects and ports; pure Python and pydantic only.
"""

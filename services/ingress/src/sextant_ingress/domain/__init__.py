"""Domain layer of the ingress service.

Entities, value objects and ports; pure Python and pydantic only.
"""

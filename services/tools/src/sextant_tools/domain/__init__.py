"""Domain layer of the tools service.

Entities, value objects and ports; pure Python and pydantic only.
"""

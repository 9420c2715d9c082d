"""Domain layer of the orchestrator service.

Entities, value objects and ports; pure Python and pydantic only.
"""

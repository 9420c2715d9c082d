"""Domain layer of the orchestrator service: entities, value objects and ports. Pure Python + pydantic only."""

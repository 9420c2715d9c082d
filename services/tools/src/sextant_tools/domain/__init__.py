"""Domain layer of the tools service: entities, value objects and ports. Pure Python + pydantic only."""

"""Domain layer of the ingress service: entities, value objects and ports. Pure Python + pydantic only."""

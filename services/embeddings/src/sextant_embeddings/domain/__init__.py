"""Domain layer of the embeddings service: entities, value objects and ports. Pure Python + pydantic only."""

"""LLM providers and the retry policy every call goes through."""

"""API keys: random bearer tokens; only their SHA-256 is ever stored or compared."""

import hashlib
import secrets

KEY_PREFIX = "sxt_"


def new_api_key() -> str:
    """A fresh key (256 bits of randomness), shown once to whoever creates it."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()

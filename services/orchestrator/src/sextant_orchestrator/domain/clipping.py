"""Text cut to the length a contract field holds, visibly ("…"), instead of an event that
fails validation after the analysis has done its work."""

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` itself when it fits in ``limit`` characters, else its start and "…"."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS

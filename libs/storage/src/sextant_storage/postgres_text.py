"""Text PostgreSQL will store: no NUL characters.

PostgreSQL's ``text`` cannot hold U+0000 and ``jsonb`` refuses the ``\\u0000`` escape
("unsupported Unicode escape sequence"). Such a character reaches us in user data (a CSV
header, a question, a model's reply); left in, the write fails — and a failed terminal
write used to leave the analysis ``running`` for ever. Each NUL becomes U+FFFD, the
replacement character, so the text still shows where something was.
"""

import re

REPLACEMENT = "\ufffd"
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
"""``\\u0000`` in JSON text, unless its backslash is itself escaped (``\\\\u0000`` is a
backslash followed by the letters u0000, which jsonb accepts)."""


def storable_text(value: str) -> str:
    """``value`` without NUL characters."""
    return value.replace("\x00", REPLACEMENT) if "\x00" in value else value


def storable_json(text: str) -> str:
    """JSON text without the ``\\u0000`` escape jsonb refuses (or a raw NUL)."""
    if "\\u0000" in text:
        text = _NUL_ESCAPE.sub(lambda m: m.group(1) + "\\ufffd", text)
    return storable_text(text)

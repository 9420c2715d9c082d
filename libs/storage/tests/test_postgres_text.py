"""NUL characters never reach PostgreSQL: text and jsonb refuse them."""

import json

from sextant_storage.postgres_text import storable_json, storable_text


def test_a_nul_in_text_becomes_the_replacement_character() -> None:
    assert storable_text("reg\x00ion") == "reg\ufffdion"
    assert storable_text("plain") == "plain"


def test_the_nul_escape_in_json_is_replaced_and_the_json_still_parses() -> None:
    original = {"reg\x00ion": ["a\x00", "\x00\x00"], "ok": "text"}
    stored = storable_json(json.dumps(original))
    assert "\\u0000" not in stored
    assert json.loads(stored) == {"reg\ufffdion": ["a\ufffd", "\ufffd\ufffd"], "ok": "text"}


def test_an_escaped_backslash_before_u0000_is_text_and_is_kept() -> None:
    """The six characters \\u0000 typed by a user are not a NUL: jsonb stores them."""
    original = {"typed": "C:\\u0000", "both": "\\\x00"}
    stored = storable_json(json.dumps(original))
    assert json.loads(stored) == {"typed": "C:\\u0000", "both": "\\\ufffd"}

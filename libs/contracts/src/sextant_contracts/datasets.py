"""What a JSON dataset is, read one way by the ingress (on upload) and the tools (on load).

Two readers of the same upload that disagreed would accept a dataset on upload that no
tool can read, or refuse one the tools would take; the rule lives here once.
"""

import json
from typing import Any


class UnreadableRecords(ValueError):
    """The text is not a JSON dataset; the message says why, for the person uploading."""


def json_records(text: str) -> list[dict[str, Any]]:
    """The records of a JSON dataset: a non-empty array of objects."""
    try:
        records = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableRecords(f"the dataset is not valid JSON: {error}") from None
    except RecursionError:
        raise UnreadableRecords("the JSON is nested too deeply to be a dataset") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise UnreadableRecords("a JSON dataset is a list of records (objects)")
    if not records:
        raise UnreadableRecords("the JSON dataset has no records")
    return records

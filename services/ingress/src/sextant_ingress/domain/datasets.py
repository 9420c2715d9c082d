"""What an uploaded dataset is, independent of HTTP and storage: its shape and its limits."""

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from sextant_contracts.datasets import UnreadableRecords, json_records

DatasetMediaType = Literal["text/csv", "application/json"]
DATASET_MEDIA_TYPES: tuple[DatasetMediaType, ...] = ("text/csv", "application/json")

csv.field_size_limit(2**31 - 1)  # a field as long as the upload allows (pandas has no limit)


class DatasetUnreadable(ValueError):
    """The bytes are not a dataset of their media type (with the reason)."""


class DatasetTooLarge(ValueError):
    """The dataset is over a limit (bytes or rows)."""


@dataclass(frozen=True, slots=True)
class DatasetLimits:
    max_bytes: int
    max_rows: int


@dataclass(frozen=True, slots=True)
class StoredDataset:
    dataset_id: UUID
    media_type: DatasetMediaType
    size_bytes: int
    sha256: str
    rows: int
    columns: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ListedDataset:
    """A stored dataset as a list shows it (shape and name unknown for datasets stored
    before they were kept, and for inline datasets)."""

    dataset_id: UUID
    name: str | None
    media_type: str
    size_bytes: int
    rows: int | None
    columns: int | None
    created_at: datetime


MAX_NAME_CHARS = 255
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def dataset_name(given: str | None) -> str | None:
    """A name fit to keep and show: a file name's last path part, control characters
    dropped, at most :data:`MAX_NAME_CHARS`; None when nothing is left."""
    if given is None:
        return None
    last_part = re.split(r"[\\/]", given)[-1]
    cleaned = _UNPRINTABLE.sub("", last_part).strip()[:MAX_NAME_CHARS].strip()
    return cleaned or None


def measure(media_type: DatasetMediaType, content: bytes) -> tuple[int, int]:
    """(rows, columns) of an upload; DatasetUnreadable with a readable reason when malformed.

    CPU-bound (it reads every row): run it off the event loop.
    """
    try:
        decoded = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetUnreadable(f"the dataset is not UTF-8 (byte {error.start})") from error
    if media_type == "text/csv":
        return _measure_csv(decoded)
    return _measure_json(decoded)


def _measure_csv(decoded: str) -> tuple[int, int]:
    """A CSV is any text with something in it (not only white space) and no NUL: its
    first non-blank record is the header, the non-blank records after it are the rows
    (none is an empty dataset). Blank lines are skipped, as pandas does."""
    if "\x00" in decoded:
        raise DatasetUnreadable("the CSV contains the NUL character (U+0000)")
    if not decoded.strip():
        raise DatasetUnreadable("the CSV is empty: it needs at least a header row")
    records = (record for record in csv.reader(io.StringIO(decoded, newline="")) if record)
    header = next(records)
    return sum(1 for _ in records), len(header)


def _measure_json(decoded: str) -> tuple[int, int]:
    try:
        records = json_records(decoded)
    except UnreadableRecords as error:
        raise DatasetUnreadable(str(error)) from error
    return len(records), len({key for record in records for key in record})

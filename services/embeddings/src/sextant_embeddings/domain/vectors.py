"""Vectors as the domain sees them: packed float32 rows, no numpy required."""

from dataclasses import dataclass

FLOAT32_BYTES = 4


@dataclass(frozen=True, slots=True)
class Vectors:
    """``count`` vectors of ``dimensions`` float32 values, little-endian, row-major.

    Kept as bytes so that slicing one batch's result back into per-request results,
    and putting them on the wire (base64), costs a memory copy and nothing more.
    """

    data: bytes
    count: int
    dimensions: int

    def __post_init__(self) -> None:
        if len(self.data) != self.count * self.dimensions * FLOAT32_BYTES:
            raise ValueError(
                f"{len(self.data)} bytes cannot hold {self.count} x {self.dimensions} float32"
            )

    def rows(self, start: int, stop: int) -> "Vectors":
        """Rows ``start`` (inclusive) to ``stop`` (exclusive), as their own Vectors."""
        if not 0 <= start <= stop <= self.count:
            raise IndexError(f"rows {start}:{stop} outside 0:{self.count}")
        stride = self.dimensions * FLOAT32_BYTES
        return Vectors(self.data[start * stride : stop * stride], stop - start, self.dimensions)

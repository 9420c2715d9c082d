"""The machine a benchmark ran on, printed and recorded next to its figures.

Why: two 2-core boxes of the same kind differ 2x (an Intel and an AMD EPYC), so a figure
means little without the CPU model and the cores the run could use beside it.
"""

import os
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cores() -> int:
    """The cores this process may run on (its affinity: a container's limit shows here)."""
    return len(os.sched_getaffinity(0))


def machine() -> dict[str, Any]:
    """For a benchmark's JSON: ``cpu`` (model) and ``cores``."""
    return {"cpu": cpu_model(), "cores": usable_cores()}


def described() -> str:
    """For a benchmark's printout, e.g. ``machine: AMD EPYC, 2 cores``."""
    return f"machine: {cpu_model()}, {usable_cores()} cores"

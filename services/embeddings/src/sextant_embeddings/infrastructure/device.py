"""Choosing the torch device: ``auto`` prefers CUDA, then Apple MPS, then the CPU."""

from typing import Literal

import torch

DeviceSetting = Literal["auto", "cpu", "cuda", "mps"]


def resolve_device(setting: DeviceSetting) -> str:
    """The torch device name for ``setting``; an unavailable explicit choice is an error."""
    cuda = torch.cuda.is_available()
    mps = torch.backends.mps.is_available()
    if setting == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (setting == "cuda" and not cuda) or (setting == "mps" and not mps):
        raise RuntimeError(f"EMBEDDING device {setting!r} was asked for but is not available")
    return setting

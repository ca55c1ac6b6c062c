"""Reading a network's weights from a local checkpoint file, with errors that say what is wrong with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from builder.errors import WeightsUnavailable


def read_checkpoint(path: Path, network: str) -> dict[str, Any]:
    """A state dict from a local file: a bare state dict, or one under 'state_dict' / 'model'."""
    if not path.is_file():
        raise WeightsUnavailable(f"{network}: weights file {path} not found")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise WeightsUnavailable(f"{network}: cannot read weights file {path}: {exc}") from None
    for key in ("state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict):
        raise WeightsUnavailable(f"{network}: {path} holds no state dict")
    return data


def load_state(module: torch.nn.Module, state: dict[str, Any], network: str, source: Path) -> None:
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise WeightsUnavailable(f"{network}: {source} does not fit the network: {first}") from None

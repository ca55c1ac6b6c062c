"""Running a torch module as an `Extractor`: device choice, inference mode, checkpoint reading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import WeightsUnavailable


class TorchExtractor:
    """Wraps an eval-mode module: numpy batch in, numpy (batch, dim) features out. bf16: autocast with
    channels-last tensors, the layout oneDNN's bf16 convolutions are fastest in."""

    def __init__(self, module: torch.nn.Module, device: str, bf16: bool = False) -> None:
        self.device = device
        self.bf16 = bf16
        self.module = module.eval().to(device)
        if bf16:
            self.module = self.module.to(memory_format=torch.channels_last)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.bf16):
            x = torch.from_numpy(batch).to(self.device)
            if self.bf16 and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            out = self.module(x)
            return out.reshape(out.shape[0], -1).float().cpu().numpy()


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

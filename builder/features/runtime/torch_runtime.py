"""Running a torch module as an `Extractor`: device, inference mode, bf16 autocast."""

from __future__ import annotations

import numpy as np
import torch

from builder.features.networks.registry import Extracted
from builder.features.runtime.threads import inference_threads


class TorchExtractor:
    """Wraps an eval-mode module: numpy batch in, numpy (batch, dim) features out (and a
    tagging network's top classes: registry.Extractor). bf16: autocast with
    channels-last tensors, the layout oneDNN's bf16 convolutions are fastest in."""

    def __init__(self, module: torch.nn.Module, device: str, bf16: bool = False) -> None:
        torch.set_num_threads(inference_threads())  # as many as this process may run on (threads.py)
        self.device = device
        self.bf16 = bf16
        self.module = module.eval().to(device)
        if bf16:
            self.module = self.module.to(memory_format=torch.channels_last)

    def __call__(self, batch: np.ndarray) -> Extracted:
        with torch.inference_mode(), torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.bf16):
            x = torch.from_numpy(batch).to(self.device)
            if self.bf16 and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            out = self.module(x)
            if isinstance(out, tuple):  # features, then a tagging network's top classes (registry.Extractor)
                features, probabilities, classes = out
                return _flat(features), probabilities.float().cpu().numpy(), classes.cpu().numpy()
            return _flat(out)


def _flat(features: torch.Tensor) -> np.ndarray:
    return features.reshape(features.shape[0], -1).float().cpu().numpy()

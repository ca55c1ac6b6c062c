"""Feature extractors. Importing this package fills the registry with every known network."""

from builder.features.networks import (  # noqa: F401  (each registers its networks)
    efficientnet_lite,
    openclip_nets,
    pixels,
    timm_nets,
    torchvision_nets,
)
from builder.features.networks.registry import NetworkSpec, all_specs, configured, get

__all__ = ["NetworkSpec", "all_specs", "configured", "get"]

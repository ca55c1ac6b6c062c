"""Feature extractors. Importing this package fills the registry with every known network."""

from builder.features.networks import efficientnet_lite, pixels, torchvision_nets  # noqa: F401  (each registers its networks)
from builder.features.networks.registry import NetworkSpec, all_specs, configured, get

__all__ = ["NetworkSpec", "all_specs", "configured", "get"]

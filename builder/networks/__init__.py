"""Feature extractors. Importing this package fills the registry with every known network."""

from . import efficientnet_lite, pixels, torchvision_nets  # noqa: F401  (each registers its networks)
from .registry import NetworkSpec, all_specs, get

__all__ = ["NetworkSpec", "all_specs", "get"]

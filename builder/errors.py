"""Errors a user can act on.

Anything raised as a `VsisError` ends a command with a one-line reason and a non-zero exit code;
everything else is a bug and keeps its traceback.
"""


class VsisError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class ConfigError(VsisError):
    """The configuration (vsis.toml or command-line flags) is invalid."""


class MetadataError(VsisError):
    """The metadata file cannot be read."""


class WeightsUnavailable(VsisError):
    """A network's weights are not on disk and cannot be downloaded."""

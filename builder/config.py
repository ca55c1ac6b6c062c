"""The build configuration, validated in one place.

Values come from three layers, later ones winning: defaults, `vsis.toml`, command-line flags.
Paths in `vsis.toml` are relative to the file itself, so a config can be run from anywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from builder.errors import ConfigError
from builder.experiment.run import BASELINE
from builder.inputs.images import THUMB_FORMATS
from builder.inputs.perturb import DEFAULT_PROFILES, get_profile
from builder.terminal import is_printable

DEFAULT_NETWORKS = ("efficientnet_lite0", "pixels")
ENGINES = ("local", "ray")
MAX_CLUSTERS = 100  # the map's hotspots are a list of buttons: more would be a second index, not a shortcut
SEED_LIMIT = 2**31 - 1  # Annoy takes a signed 32-bit seed (numpy any)

# The bounds of every number a user sets: (what the message calls it, least, most). The most is what any
# collection could use, not what one can afford: each effort setting (trees, epochs, queries) is bounded
# so that no value accepted here can make a build of a few images run for hours or exhaust memory
# (`[annoy] trees = 1e9` grew to 21.7 GB before the kernel killed it). Measures of size say in their
# comment why they stop where they do.
_BOUNDS: dict[str, tuple[str, float, float]] = {
    "k": ("k", 1, 1000),  # a neighbour list a page shows
    "annoy_trees": ("annoy trees", 1, 1000),  # Annoy's authors use 10-100; each costs an index's size again
    "annoy_seed": ("annoy seed", 0, SEED_LIMIT),
    "recall_queries": ("recall_queries", 1, 100_000),
    "expansion": ("neighbours expansion", 0, 50),  # neighbours averaged in: beyond a few it blurs every list
    "thumb_size": ("thumb_size", 16, 1024),
    "site_budget_mb": ("site budget_mb", 0.001, 1e9),
    "batch_size": ("batch_size", 1, 4096),
    "workers": ("workers", 0, 256),
    "ray_actors": ("ray actors", 0, 100_000),
    "ray_gpus_per_actor": ("ray gpus_per_actor", 0, 64),
    "max_pixels": ("max_pixels", 1, 1_000_000_000),  # a gigapixel: 3 GB decoded
    # preprocessing scales the shorter side to 256: 1,000 keeps a derived image under 66 megapixels
    "max_aspect": ("max_aspect", 1, 1000),
    "experiment_originals": ("experiment originals", 1, 1_000_000),
    "experiment_seed": ("experiment seed", 0, SEED_LIMIT),
    "map_epochs": ("map epochs", 0, 5000),  # 350 lay out 100,000 images in about 26 s
    "map_seed": ("map seed", 0, SEED_LIMIT),
    "map_clusters": ("map clusters", 0, MAX_CLUSTERS),
    "query_max_model_mb": ("query max_model_mb", 0.001, 1e6),
}
MAX_TITLE = 500  # characters: the site's title heads every page


@dataclass(frozen=True)
class BuildConfig:
    """Everything `vsis build` needs to know; see the README's config reference."""

    collection: Path = Path("images")
    metadata: Path | None = None
    metadata_key: str | None = None
    networks: tuple[str, ...] = DEFAULT_NETWORKS
    weights: Mapping[str, Path] = field(default_factory=dict)
    k: int = 10
    annoy_trees: int = 50
    annoy_search_k: int | None = None  # None: 20 x trees x (k + 1); -1: Annoy's own default
    annoy_seed: int = 71
    neighbours_method: str = "auto"  # "cells", "annoy", "exact", or auto: cells, exact where cheaper
    recall_target: float = 0.98  # the search effort (cells or Annoy) is raised until sampled recall@k reaches this
    recall_queries: int = 1000  # items sampled to measure it (all of them in a smaller collection)
    expansion: int = 0  # database-side augmentation and query expansion over this many neighbours; 0: off
    # How features are made for retrieval (features/networks/registry.py FRAMINGS, POOLING_CHOICES). The
    # defaults are what bench/quality.py measured best on 2,000 labelled OpenClipart drawings with
    # efficientnet_lite0: mAP@10 0.545 -> 0.604, near-duplicate recall@5 0.847 -> 0.848 (README, Retrieval
    # quality; efficientnet_lite.py's FAMILY says which stages, and why).
    framing: str = "pad"
    pooling: str = "auto"  # "stages" where the network declares them, else "avg"
    centre: bool = True  # features centred on the collection's mean (then unit length) before comparing
    out: Path = Path("site")
    cache_dir: Path = Path(".vsis-cache")
    title: str = ""
    thumb_size: int = 224  # the compare pages' tiles: 217 CSS pixels wide in a 72rem page of 5 columns
    thumb_format: str = "webp"  # or "jpeg": WebP is about half the bytes (inputs/images.py)
    site_budget_mb: float = 1000.0  # the published site's size limit (GitHub Pages': 1 GB), checked every build
    batch_size: int = 16
    backend: str = "auto"  # auto: onnx on the CPU, torch on a GPU (features/runtime/backends.py)
    precision: str = "fp32"  # bf16 (torch) and int8 (onnx) trade a little fidelity for speed
    workers: int = 2  # threads decoding and preprocessing ahead of inference; 0: none
    engine: str = "local"  # or "ray": extraction on a Ray cluster (features/ray_engine.py)
    ray_address: str | None = None  # None: RAY_ADDRESS, else a new local instance
    ray_actors: int = 0  # 0: the cluster's CPUs less one
    ray_gpus_per_actor: float = 0.0
    max_pixels: int = 64_000_000
    jpeg_draft: bool = True  # decode large JPEGs at a reduced scale (inputs/images.py)
    max_aspect: float = 50.0  # longer side / shorter side above which an image is refused
    follow_external_links: bool = False  # symbolic links leading outside the collection (collect/collection.py)
    # the perturbation-recovery experiment
    experiment: bool = True
    experiment_originals: int = 1000
    experiment_seed: int = 71
    profiles: tuple[str, ...] = DEFAULT_PROFILES
    experiment_ks: tuple[int, ...] = (1, 3, 5)
    # the map: a 2-D layout per network (map/embed.py) and map.html
    map_enabled: bool = True
    map_epochs: int = 350
    map_seed: int = 71
    map_clusters: int = 12  # hotspots per network: k-means on its layout (map/clusters.py); 0: none
    # search by the visitor's own image (query.html): the network runs in the page
    query_enabled: bool = True
    query_networks: tuple[str, ...] = ()  # () : every built network that can run in a browser
    query_max_model_mb: float = 35.0  # a bigger exported model is not offered (it would pass 50 MB as base64)
    query_recall_target: float = 0.95  # of the exact top 10, kept by the compact vectors (query/compact.py)

    @property
    def built_networks(self) -> tuple[str, ...]:
        """The networks whose features are extracted: the experiment always runs the pixel baseline
        beside the networks, so that the site can show whether they beat it."""
        if self.experiment and BASELINE not in self.networks:
            return (*self.networks, BASELINE)
        return self.networks

    def validate(self) -> BuildConfig:
        """Check values that types alone cannot; return self so calls chain."""
        for name, (label, least, most) in _BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{label} must be a number, got {value!r}")
            if not least <= value <= most:  # nan is refused too
                raise ConfigError(f"{label} must be {_number(least)} ... {_number(most)}, got {value!r}")
        if self.annoy_search_k is not None and not (self.annoy_search_k == -1 or 1 <= self.annoy_search_k <= 10**9):
            raise ConfigError(f"annoy search_k must be -1 (Annoy's default) or 1 ... 1e9, got {self.annoy_search_k}")
        if len(self.title) > MAX_TITLE:
            raise ConfigError(f"title must be at most {MAX_TITLE} characters, got {len(self.title):,}")
        for name in ("title", "metadata_key", "ray_address"):
            text = getattr(self, name)
            if text is not None and not is_printable(text):
                raise ConfigError(f"{name} must be text without control characters or undecodable bytes: {text!r}")
        paths = {"collection": self.collection, "metadata": self.metadata, "out": self.out, "cache_dir": self.cache_dir,
                 **{f"weights.{n}": p for n, p in self.weights.items()}}  # fmt: skip
        for name, path in paths.items():
            if path is not None and "\x00" in str(path):
                raise ConfigError(f"{name}: a path cannot hold a NUL character: {str(path)!r}")
        if not self.networks:
            raise ConfigError("no networks selected")
        if len(set(self.networks)) != len(self.networks):
            raise ConfigError(f"a network is listed twice: {', '.join(self.networks)}")
        from builder.features.networks.registry import FRAMINGS, POOLING_CHOICES  # local: see backends below

        if self.framing not in FRAMINGS:
            raise ConfigError(f"features framing must be one of {', '.join(FRAMINGS)}, got {self.framing!r}")
        if self.pooling not in POOLING_CHOICES:
            raise ConfigError(f"features pooling must be one of {', '.join(POOLING_CHOICES)}, got {self.pooling!r}")
        if self.thumb_format not in THUMB_FORMATS:
            raise ConfigError(f"thumb_format must be one of {', '.join(THUMB_FORMATS)}, got '{self.thumb_format}'")
        from builder.features.runtime.backends import (  # local import: backends pull in the network registry
            BACKENDS,
            check_precision,
        )

        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend '{self.backend}' (known: {', '.join(BACKENDS)})")
        check_precision(self.backend, self.precision)
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got '{self.engine}'")
        if self.neighbours_method not in ("auto", "cells", "annoy", "exact"):
            raise ConfigError(f"neighbours method must be auto, cells, annoy or exact, got '{self.neighbours_method}'")
        if not 0 < self.recall_target <= 1:
            raise ConfigError(f"recall_target must be in (0, 1], got {self.recall_target}")
        if len(set(self.query_networks)) != len(self.query_networks):
            raise ConfigError(f"a query network is listed twice: {', '.join(self.query_networks)}")
        if not 0 < self.query_recall_target <= 1:
            raise ConfigError(f"query recall_target must be in (0, 1], got {self.query_recall_target}")
        unknown = [n for n in self.query_networks if n not in self.built_networks]
        if unknown:
            built = ", ".join(self.built_networks)
            raise ConfigError(f"query networks {', '.join(unknown)} are not built (built: {built})")
        if self.experiment:
            if not self.profiles:
                raise ConfigError("the experiment needs at least one perturbation profile")
            if len(set(self.profiles)) != len(self.profiles):
                raise ConfigError(f"a profile is listed twice: {', '.join(self.profiles)}")
            if not self.experiment_ks or not 1 <= min(self.experiment_ks) <= max(self.experiment_ks) <= 1000:
                raise ConfigError(f"experiment k values must be 1 ... 1,000, got {list(self.experiment_ks)}")
            for name in self.profiles:
                get_profile(name)  # raises ConfigError naming the unknown profile
        from builder.features.networks import registry  # local import: the registry pulls in torch

        for name in self.networks:
            registry.get(name)  # raises ConfigError naming the unknown network
            registry.configured(name, self.framing, self.pooling)  # ConfigError: a pooling it does not offer
        for name in self.weights:
            if name not in self.networks:
                raise ConfigError(f"weights given for '{name}', which is not among the networks built")
        return self


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


# Keys of vsis.toml: top-level keys map onto BuildConfig fields; [annoy] and [weights] are tables.
_TOP_KEYS = {
    "collection": "path",
    "metadata": "path",
    "metadata_key": "str",
    "networks": "list",
    "k": "int",
    "out": "path",
    "cache_dir": "path",
    "title": "str",
    "thumb_size": "int",
    "thumb_format": "str",
    "batch_size": "int",
    "backend": "str",
    "precision": "str",
    "workers": "int",
    "engine": "str",
    "max_pixels": "int",
    "jpeg_draft": "bool",
    "max_aspect": "number",
    "follow_external_links": "bool",
}
# Tables of vsis.toml: [table] key -> (BuildConfig field, kind).
_TABLES = {
    "annoy": {
        "trees": ("annoy_trees", "int"),
        "search_k": ("annoy_search_k", "int"),
        "seed": ("annoy_seed", "int"),
    },
    "site": {
        "budget_mb": ("site_budget_mb", "number"),
    },
    "ray": {
        "address": ("ray_address", "str"),
        "actors": ("ray_actors", "int"),
        "gpus_per_actor": ("ray_gpus_per_actor", "number"),
    },
    "neighbours": {
        "method": ("neighbours_method", "str"),
        "recall_target": ("recall_target", "number"),
        "recall_queries": ("recall_queries", "int"),
        "expansion": ("expansion", "int"),
    },
    "features": {
        "framing": ("framing", "str"),
        "pooling": ("pooling", "str"),
        "centre": ("centre", "bool"),
    },
    "map": {
        "enabled": ("map_enabled", "bool"),
        "epochs": ("map_epochs", "int"),
        "seed": ("map_seed", "int"),
        "clusters": ("map_clusters", "int"),
    },
    "query": {
        "enabled": ("query_enabled", "bool"),
        "networks": ("query_networks", "list"),
        "max_model_mb": ("query_max_model_mb", "number"),
        "recall_target": ("query_recall_target", "number"),
    },
    "experiment": {
        "enabled": ("experiment", "bool"),
        "originals": ("experiment_originals", "int"),
        "seed": ("experiment_seed", "int"),
        "profiles": ("profiles", "list"),
        "k": ("experiment_ks", "intlist"),
    },
}


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list ('a, b,c') as names, blanks dropped: the one reader of such lists."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _typed(key: str, value: Any, kind: str, base: Path) -> Any:
    if kind == "path":
        if not isinstance(value, str):
            raise ConfigError(f"'{key}' must be a path string, got {value!r}")
        return (base / value) if not Path(value).is_absolute() else Path(value)
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"'{key}' must be an integer, got {value!r}")
        return value
    if kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"'{key}' must be a number, got {value!r}")
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"'{key}' must be a string, got {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"'{key}' must be true or false, got {value!r}")
        return value
    if kind == "intlist":
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"'{key}' must be a list of integers, got {value!r}")
        return tuple(sorted(set(value)))
    if kind == "list":
        if isinstance(value, str):
            value = list(names(value))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"'{key}' must be a list of names, got {value!r}")
        return tuple(value)
    raise AssertionError(kind)


def load_toml(path: Path) -> dict[str, Any]:
    """Read vsis.toml into BuildConfig field values; unknown keys are errors that name the key."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a config file") from None
    try:  # a byte-order mark, which some Windows editors write, is not TOML's but harms nothing
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}), as TOML must be") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    base = path.parent
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _TOP_KEYS:
            values[key] = _typed(key, value, _TOP_KEYS[key], base)
        elif key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] must be a table")
            table = _TABLES[key]
            for sub, sub_value in value.items():
                if sub not in table:
                    raise ConfigError(f"{path}: unknown key '{key}.{sub}' (known: {', '.join(table)})")
                field_name, kind = table[sub]
                values[field_name] = _typed(f"{key}.{sub}", sub_value, kind, base)
        elif key == "weights":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [weights] must be a table of network = file")
            values["weights"] = {n: _typed(f"weights.{n}", v, "path", base) for n, v in value.items()}
        else:
            known = ", ".join([*_TOP_KEYS, *_TABLES, "weights"])
            raise ConfigError(f"{path}: unknown key '{key}' (known: {known})")
    return values


def parse_weights(specs: list[str], networks: tuple[str, ...]) -> dict[str, Path]:
    """`--weights NET=FILE` (repeatable), or a bare `--weights FILE` when exactly one network is built."""
    out: dict[str, Path] = {}
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep:
            if len(networks) != 1:
                raise ConfigError(
                    f"--weights {spec}: several networks are built ({', '.join(networks)}); "
                    "say which one with --weights NETWORK=FILE"
                )
            name, file = networks[0], spec
        out[name.strip()] = Path(file)
    return out


def make_config(config_file: Path | None = None, **overrides: Any) -> BuildConfig:
    """Defaults, then the config file, then every override that is not None."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(load_toml(config_file))
    known = {f.name for f in fields(BuildConfig)}
    for key, value in overrides.items():
        if key not in known:
            raise ConfigError(f"unknown setting '{key}'")
        if value is not None:
            values[key] = value
    for key in ("networks", "profiles"):
        if isinstance(values.get(key), str):
            values[key] = _typed(key, values[key], "list", Path("."))
        if key in values:
            values[key] = tuple(values[key])
    if "experiment_ks" in values:
        values["experiment_ks"] = tuple(sorted(set(values["experiment_ks"])))
    return replace(BuildConfig(), **values).validate()

"""What the pipeline found for one network on the plain collection: its neighbour lists and how they were
made (Annoy's recall against exact search, the precision the network ran in, extraction counts)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from builder.features.networks.registry import NetworkSpec
from builder.features.runtime.backends import PrecisionPlan
from builder.search.neighbours import Neighbours
from builder.search.retrieval import Refinement


@dataclass
class NetworkResult:
    name: str
    neighbours: Neighbours
    search_recall: float
    extracted: int
    cached: int
    images_per_second: float
    precision: PrecisionPlan  # what the network ran in, and why where that is not what was asked
    spec: NetworkSpec  # the network as configured (its framing and pooling: its layer and dimension)
    recall_note: str = ""  # how search_recall was measured (sampled or every item; search_k, trees)
    search_k: int = 0  # the nodes Annoy searched per query, tuned to the recall target (0: exact search)
    features: str = ""  # neighbours.features_digest of the features searched: later stages key by it
    # what was searched: the network's features as refined (retrieval.py), in items' order; later stages read
    # these, never the store's (None: not kept, where a test makes a result of lists alone)
    searched: np.ndarray | None = None
    refinement: Refinement = field(default_factory=Refinement)

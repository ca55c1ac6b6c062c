"""The query page's model: each network a browser can run, with the compact vectors it ranks by."""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.query.browser import BrowserNetwork
from builder.query.compact import CompactVectors
from builder.query.stage import NetworkCompact
from builder.search.retrieval import Refinement


@dataclass
class QueryNetwork:
    """A network that query.html runs in the visitor's browser: how (its preprocessing, and its model but for
    the pixel baseline, whose preprocessed image is the feature) and the collection's compact vectors."""

    network: BrowserNetwork
    vectors: CompactVectors
    refinement: Refinement = field(default_factory=Refinement)  # applied to the visitor's feature too


@dataclass
class QueryPage:
    """query.html: search the collection with the visitor's own image or words, computed in their browser."""

    networks: list[QueryNetwork]
    refused: list[str]  # the built networks not offered, each with why
    shown: int  # results shown per search

    @property
    def runs_models(self) -> bool:
        """Whether a network of the page runs a model: only then does the site carry the network runtime."""
        return any(n.network.model is not None or n.network.words for n in self.networks)

    @property
    def images(self) -> list[str]:
        """The networks that search by an image."""
        return [n.network.name for n in self.networks if n.network.images]

    @property
    def title(self) -> str:
        """The page's title and navigation link: what a visitor can search with."""
        kinds = [kind for kind, names in (("image", self.images), ("words", self.words)) if names]
        return "Search by " + " or ".join(kinds)

    @property
    def words(self) -> list[str]:
        """The networks that search by words."""
        return [n.network.name for n in self.networks if n.network.words]


SHOWN = 20  # results a search shows: two rows of the explorer's grid on a laptop


def query_page(networks: list[BrowserNetwork], compacts: list[NetworkCompact], refused: list[str],
               n_items: int) -> QueryPage | None:  # fmt: skip
    """None where no network can run in a browser (or search by image is switched off: no networks)."""
    if not networks:
        return None
    by_name = {c.name: c for c in compacts}
    out = [QueryNetwork(net, by_name[net.name].vectors, by_name[net.name].refinement) for net in networks]
    for q in out:
        if q.vectors.codes.shape[0] != n_items:
            raise ValueError(f"{q.network.name}: compact vectors of {q.vectors.codes.shape[0]} items for {n_items}")
    return QueryPage(out, refused, min(SHOWN, n_items))

"""The query page's model: each network a browser can run, with the compact vectors it ranks by."""

from __future__ import annotations

from builder.features.browser import BrowserNetwork
from builder.search.compact_stage import NetworkCompact
from builder.site.model import QueryNetwork, QueryPage

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

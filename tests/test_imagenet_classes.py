"""The ImageNet class table: 1,000 classes in the heads' order, with WordNet's words for each."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.features.networks.classes import TABLE, imagenet_classes


def test_the_table_holds_the_thousand_classes_in_wordnet_id_order() -> None:
    classes = imagenet_classes()
    assert [c.index for c in classes] == list(range(1000))
    wnids = [c.wnid for c in classes]
    assert wnids == sorted(wnids) and len(set(wnids)) == 1000  # ImageNet's index order is the sorted ids
    by_index = {c.index: c for c in classes}
    assert by_index[970].wnid == "n09193705" and by_index[970].name == "alp"
    assert by_index[207].name == "golden retriever"
    assert by_index[2].lemmas[:2] == ("great white shark", "white shark")


def test_torchvisions_published_names_are_the_same_classes_in_the_same_order() -> None:
    """torchvision's weights name each output; every name is one of the class's lemmas, but for the two that
    torchvision tells apart from a same-named class (crane the bird, maillot the tank suit)."""
    meta = pytest.importorskip("torchvision.models._meta")
    names = meta._IMAGENET_CATEGORIES
    differ = [c.index for c in imagenet_classes() if names[c.index].lower() not in {w.lower() for w in c.lemmas}]
    assert differ == [134, 639]
    assert names[134] == "crane bird" and names[639] == "maillot tank suit"


def test_a_table_out_of_order_or_short_is_refused(tmp_path: Path) -> None:
    lines = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    swapped = tmp_path / "swapped.tsv"
    swapped.write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="swapped.tsv:1: expected '<index 0>"):
        imagenet_classes(swapped)
    short = tmp_path / "short.tsv"
    short.write_text("\n".join(lines[:999]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="999 classes, expected 1000"):
        imagenet_classes(short)

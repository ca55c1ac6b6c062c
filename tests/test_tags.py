"""Tags: the classes a network's own head recognises, from the pass that gives its features (heads.Pooled),
stored beside the features (features/tags.py) and turned into what words find (site/word_data.py)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pytest

from builder.cache import BadEntry
from builder.features.extract import make_runner
from builder.features.networks import configured, get
from builder.features.networks.classes import ImageNetClass, imagenet_classes, imagenet_synonyms
from builder.features.networks.pooling import TOP_CLASSES
from builder.features.runtime.backends import load_extractor
from builder.features.tags import ROW, THRESHOLD, Tag, check_tag_rows, stored_tags, tag_rows, tags_above
from builder.features.words import terms_of
from builder.inputs.images import decode
from builder.site.word_data import CLASS_SHARD, postings, word_files

from .conftest import SAMPLE

torch = pytest.importorskip("torch")

ALP, VOLCANO, TABBY, TIGER_CAT, MOUNTAIN_BIKE = 970, 980, 281, 282, 671


def lite0():
    spec = configured("efficientnet_lite0", "crop", "avg")
    if not spec.weights.available()[0]:
        pytest.skip("efficientnet_lite0's weights are not installed")
    return spec


def sample_batch(spec, n: int = 6) -> tuple[list[Path], np.ndarray]:
    files = sorted(SAMPLE.glob("*/*.png"))[::25][:n]
    return files, np.stack([spec.preprocess(decode(f)) for f in files]).astype(np.float32)


def head_probabilities(spec, batch: np.ndarray) -> np.ndarray:
    """The network's own forward (its PyTorch head), softmaxed: every class's probability."""
    network = spec.load(None).eval()
    with torch.inference_mode():
        return torch.softmax(network(torch.from_numpy(batch)), dim=1).numpy()


# ---- the exported model's top classes are the PyTorch head's ----


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_top_classes_output_is_the_networks_own_head(tmp_path: Path, backend: str) -> None:
    spec = lite0()
    _, batch = sample_batch(spec)
    features, probabilities, classes = load_extractor(spec, None, "cpu", backend, tmp_path)(batch)
    expected = head_probabilities(spec, batch)
    assert features.shape == (len(batch), spec.dim)
    assert probabilities.shape == classes.shape == (len(batch), TOP_CLASSES)
    top = np.argsort(-expected, axis=1, kind="stable")[:, :TOP_CLASSES]
    for row in range(len(batch)):
        # the same classes (order may differ only between probabilities closer than the tolerance)
        assert set(classes[row].tolist()) == set(top[row].tolist())
        np.testing.assert_allclose(probabilities[row], expected[row, classes[row]], atol=1e-5)
        assert (np.diff(probabilities[row]) <= 0).all()


def test_a_torchvision_networks_exported_top_classes_are_its_heads(tmp_path: Path) -> None:
    """Randomly initialised (the declarations are checked, not the weights): squeezenet1_1's ONNX model."""
    tvm = pytest.importorskip("torchvision.models")
    spec = get("squeezenet1_1")
    torch.manual_seed(3)
    network = tvm.squeezenet1_1(weights=None).eval()
    weights = tmp_path / "squeezenet.pth"
    torch.save(network.state_dict(), weights)
    batch = np.random.default_rng(3).standard_normal((3, *spec.preprocess.input_shape)).astype(np.float32)
    _, probabilities, classes = load_extractor(spec, weights, "cpu", "onnx", tmp_path / "cache")(batch)
    with torch.inference_mode():
        expected = torch.softmax(network(torch.from_numpy(batch)), dim=1).numpy()
    for row in range(len(batch)):
        np.testing.assert_allclose(probabilities[row], expected[row, classes[row]], atol=1e-5)
        assert probabilities[row][-1] >= np.sort(expected[row])[-TOP_CLASSES] - 1e-5


def test_networks_without_a_classifier_hand_out_features_alone() -> None:
    assert not get("pixels").tags and get("efficientnet_lite0").tags and get("vgg16").tags


# ---- stored: exactly the top classes above the threshold ----


def test_the_stored_tags_are_exactly_the_heads_classes_above_the_threshold(tmp_path: Path) -> None:
    spec = lite0()
    files, batch = sample_batch(spec)
    runner = make_runner(spec, tmp_path, None, batch_size=4, backend="onnx")
    hashes = [f"{n:02d}" + "ab" * 31 for n in range(len(files))]
    for h, x in zip(hashes, batch, strict=True):
        runner.submit(h, x)
    runner.flush()
    runner.pack(hashes)
    assert runner.tags is not None
    stored = stored_tags(runner.tags, hashes)
    expected = head_probabilities(spec, batch)
    for row, tags in zip(expected, stored, strict=True):
        clear = np.abs(row - THRESHOLD) > 1e-4  # a class this near the line may fall either side by rounding
        above = {int(c) for c in np.flatnonzero((row >= THRESHOLD) & clear)}
        kept = {t.index for t in tags}
        assert above <= kept and kept - above <= {int(c) for c in np.flatnonzero(~clear)}
        assert [t.probability for t in tags] == sorted((t.probability for t in tags), reverse=True)
        for t in tags:
            assert t.probability == pytest.approx(float(row[t.index]), abs=1e-5)
    assert any(stored), "the sample's drawings tag something"
    # a second runner finds both stores complete: nothing to extract
    again = make_runner(spec, tmp_path, None, batch_size=4, backend="onnx")
    assert not any(again.needs(h) for h in hashes)


def test_features_cached_without_tags_are_extracted_again_leaving_no_litter(tmp_path: Path) -> None:
    spec = lite0()
    _, batch = sample_batch(spec, 2)
    runner = make_runner(spec, tmp_path, None, batch_size=2, backend="onnx")
    hashes = ["cd" * 32, "ef" * 32]
    for h in hashes:  # features alone, packed, as a build before tags left them
        runner.store.put(h, np.ones(spec.dim, dtype=np.float32) / np.sqrt(spec.dim))
    runner.store.pack(hashes)
    again = make_runner(spec, tmp_path, None, batch_size=2, backend="onnx")
    assert all(again.needs(h) for h in hashes)
    for h, x in zip(hashes, batch, strict=True):
        again.submit(h, x)
    again.flush()
    again.pack(hashes)
    assert not any(again.needs(h) for h in hashes)
    assert sorted(p.name for p in again.store.root.rglob("*.npy") if not p.name.startswith("packed-")) == []


def test_tags_above_keeps_the_classes_at_or_over_the_threshold_in_order() -> None:
    probabilities = np.array([[0.5, 0.25, 0.1, 0.05, 0.04, 0.03, 0.02, 0.005, 0.003, 0.002]], dtype=np.float32)
    classes = np.array([[970, 980, 3, 4, 5, 6, 7, 8, 9, 10]])
    rows = tag_rows(probabilities, classes)
    assert rows.shape == (1, ROW)
    assert tags_above(rows, 0.1) == [[Tag(970, 0.5), Tag(980, 0.25), Tag(3, pytest.approx(0.1))]]
    assert tags_above(rows, 0.3) == [[Tag(970, 0.5)]]
    assert tags_above(rows, 0.6) == [[]]
    with pytest.raises(ValueError, match="could miss"):
        tags_above(rows, 0.05)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda r: r.__setitem__((0, 0), 1.5), "out of"),
        (lambda r: r.__setitem__((0, 1), 0.9), "descending"),
        (lambda r: r.__setitem__((0, TOP_CLASSES), 2.5), "whole"),
        (lambda r: r.__setitem__((0, TOP_CLASSES), 1000), "whole"),
        (lambda r: r.__setitem__((0, TOP_CLASSES + 1), r[0, TOP_CLASSES]), "twice"),
    ],
)
def test_a_damaged_row_of_top_classes_is_refused(change, why: str) -> None:
    probabilities = np.linspace(0.15, 0.01, TOP_CLASSES, dtype=np.float32)[None, :]
    rows = tag_rows(probabilities, np.arange(TOP_CLASSES)[None, :])
    check_tag_rows(rows)
    change(rows)
    with pytest.raises(BadEntry, match=why):
        check_tag_rows(rows)


# ---- words: what finds which class, and the postings ----


def test_a_class_is_found_by_its_lemmas_their_words_and_its_synonyms() -> None:
    classes = imagenet_classes()
    assert classes[ALP].name == "alp" and classes[VOLCANO].name == "volcano"
    assert classes[TABBY].name == "tabby" and classes[TIGER_CAT].name == "tiger cat"
    terms = terms_of({ALP, TIGER_CAT})
    assert terms["alp"] == [ALP] and terms["mountain"] == [ALP]  # the synonym, restricted to classes present
    assert terms["tiger cat"] == [TIGER_CAT] and terms["tiger"] == [TIGER_CAT] and terms["cat"] == [TIGER_CAT]
    assert "volcano" not in terms and "tabby" not in terms
    assert terms_of({ALP, VOLCANO})["mountain"] == [ALP, VOLCANO]
    both = terms_of({TABBY, TIGER_CAT})
    assert both["cat"] == [TABBY, TIGER_CAT]  # "tiger cat"'s word and the synonym "cat" (cat.n.01) agree
    # a synonym-table word names what WordNet puts beneath it, not every lemma it is a word of
    assert terms_of({ALP, MOUNTAIN_BIKE})["mountain"] == [ALP] and "of" not in terms_of(set(range(1000)))


def test_the_synonym_table_is_versioned_and_names_real_classes() -> None:
    table = imagenet_synonyms()
    assert table.version >= 1
    by_word = {s.word: s for s in table.words}
    assert set(by_word["mountain"].classes) == {ALP, VOLCANO}
    assert len(by_word["dog"].classes) == 118  # WordNet's dog.n.01 holds every breed of ImageNet
    assert all(0 <= c < 1000 for s in table.words for c in s.classes)


def test_postings_rank_items_by_probability() -> None:
    tags = [[Tag(ALP, 0.3)], [], [Tag(VOLCANO, 0.6), Tag(ALP, 0.2)], [Tag(ALP, 0.3)]]
    assert postings(tags) == {ALP: [(0, 300), (3, 300), (2, 200)], VOLCANO: [(2, 600)]}


def test_word_files_shard_the_postings_by_class(tmp_path: Path) -> None:
    from builder.pagekit.datafiles import read_shard

    tags = [[Tag(ALP, 0.3)], [Tag(TABBY, 0.9)], [Tag(VOLCANO, 0.6), Tag(ALP, 0.2)]]
    files, shards = word_files([("collection", [("net", tags)])])
    assert shards == {"collection": {"net": sorted({ALP // CLASS_SHARD, TABBY // CLASS_SHARD})}}
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    alp_shard = read_shard(tmp_path, f"data/collection/tags/net/{ALP // CLASS_SHARD}.js")
    assert alp_shard[str(ALP)] == [[0, 2], [300, 200]] and alp_shard[str(VOLCANO)] == [[2], [600]]
    words = read_shard(tmp_path, "data/words.js")
    assert words["terms"]["mountain"] == [ALP, VOLCANO] and words["terms"]["cat"] == [TABBY]
    assert word_files([("collection", [("net", [[], []])])]) == ({}, {})  # nothing tagged: no files, no listing


def test_hostile_class_names_stay_text(tmp_path: Path, monkeypatch) -> None:
    """A class list with markup in its names (a weights' published list is data): the compare pages show it
    as text, and the word index holds it as an escaped string."""
    from builder.build import build
    from builder.config import make_config
    from builder.features import words
    from builder.site import pages

    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    classes = tuple(ImageNetClass(c.index, c.wnid, (f"{hostile} {c.index}",)) for c in imagenet_classes())
    monkeypatch.setattr(pages, "imagenet_classes", lambda: classes)
    monkeypatch.setattr(words, "imagenet_classes", lambda: classes)
    lite0()
    collection = tmp_path / "images"
    for f in sorted(SAMPLE.glob("*/*.png"))[:12]:
        (collection / f.parent.name).mkdir(parents=True, exist_ok=True)
        (collection / f.parent.name / f.name).write_bytes(f.read_bytes())
    build(make_config(None, collection=collection, out=tmp_path / "site", cache_dir=tmp_path / "cache",
                      networks=("efficientnet_lite0",), experiment_enabled=False, map_enabled=False,
                      query_enabled=False))  # fmt: skip
    site = tmp_path / "site"
    shown = [p.read_text() for p in (site / "compare").glob("*.html") if 'class="recognised"' in p.read_text()]
    assert shown, "some drawing is tagged"
    for text in shown:
        assert "<script>alert" not in text and "<img src=x" not in text
        assert html.escape(hostile, quote=False)[:20] in text or "&lt;script&gt;" in text
    text = (site / "data" / "words.js").read_text()
    assert "<script" not in text and "<img" not in text
    payload = json.loads(text[text.index(",") + 1 : text.rindex(")")])
    assert any(term.startswith(hostile.lower()) for term in payload["terms"])


# ---- the tags' agreement with categories (experiment/tag_agreement.py), hand-computed ----


def test_tag_agreement_on_a_hand_computed_case() -> None:
    from builder.experiment.tag_agreement import match_categories, tag_agreement, tag_agreements

    named = {"animal": [1, 2], "food": [3]}.get
    categories = ["animals", "animals", "food", "plants", ""]
    matched = match_categories(categories, lambda w: named(w, []))
    assert matched == {"animals": (1, 2), "food": (3,)}  # "animals" by its singular; "plants" names nothing
    tags = [[Tag(1, 0.5), Tag(3, 0.2)], [], [Tag(3, 0.9)], [Tag(1, 0.4)], [Tag(2, 0.3)]]
    a = tag_agreement(categories, tags, matched)
    assert (a.images, a.tagged, a.agreeing, a.tags, a.in_category) == (3, 2, 2, 3, 2)
    assert a.precision == pytest.approx(2 / 3) and a.agreement == pytest.approx(2 / 3)
    # chance: tag 1 lies in animals (2 of the 3 images), tag 3 in food (1 of 3), twice: (2/3 + 1/3 + 1/3) / 3
    assert a.chance == pytest.approx(4 / 9)
    assert a.unmatched == ("plants",)
    assert tag_agreements(categories, {}, lambda w: named(w, [])) == ({}, "no network of the build tags images")
    none, why = tag_agreements(["plants"], {"net": [[]]}, lambda w: named(w, []))
    assert none == {} and "names an ImageNet class" in why


def test_the_real_class_words_match_openclipart_folders() -> None:
    from builder.experiment.tag_agreement import match_categories
    from builder.features.words import classes_named

    matched = match_categories(["animals", "food", "buildings", "transportation", "shapes"], classes_named)
    assert set(matched) == {"animals", "food", "buildings"}
    assert ALP not in matched["animals"] and 281 in matched["animals"]  # a tabby is an animal, an alp is not

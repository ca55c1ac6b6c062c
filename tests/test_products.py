"""A page product is its own package, its template and script, and one registration line: shown here by a
product made in the test (a report of near-duplicates) that the site renders with no change to the site."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from builder.cache import BlobStore
from builder.pagekit.datafiles import global_script
from builder.pagekit.product import NavEntry, PageKit
from builder.site import render
from builder.site.pages import page_items, site_model
from tests.test_units import small_model


@dataclass
class DuplicatesProduct:
    """The test's product: pairs of items whose similarity is above a threshold, on a page of its own."""

    page: list[tuple[str, str, float]]
    templates: Path | None
    name: str = "duplicates"
    nav: NavEntry | None = NavEntry("duplicates", "reports/duplicates.html", "Duplicates")
    placed: dict[str, str] = field(default_factory=dict)

    def page_count(self) -> int:
        return 1

    def files(self, kit: PageKit) -> dict[str, str | bytes]:
        return {
            "reports/duplicates.html": kit.render(
                "duplicates.html", "reports/duplicates.html", "duplicates", pairs=self.page
            ),  # fmt: skip
            "data/duplicates.js": global_script("VSIS_DUPLICATES", [list(p) for p in self.page]),
        }

    def fingerprint(self) -> object:
        return self.page


TEMPLATE = """{% extends "base.html" %}
{% block main %}<h1>Near-duplicates</h1>
<ul>{% for a, b, s in pairs %}<li>{{ a }} {{ b }} {{ s | score }}</li>{% endfor %}</ul>
{% endblock %}
{% block scripts %}<script src="{{ root }}data/duplicates.js"></script>{% endblock %}
"""


def _templates(tmp_path: Path) -> Path:
    """The product's own folder of templates."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "duplicates.html").write_text(TEMPLATE)
    return tmp_path / "templates"


def test_a_product_is_rendered_with_its_page_data_and_navigation_link(tmp_path: Path) -> None:
    product = DuplicatesProduct([("img0", "img1", 0.9), ("<b>", "img2", 0.5)], _templates(tmp_path))
    model = small_model(tmp_path / "model")
    model.products = [product]  # the registration line
    out = tmp_path / "site"
    assert render.render(model, out) == render.page_count(model) == 2 + 1 + 3 + 1
    report = (out / "reports" / "duplicates.html").read_text()
    assert "<li>img0 img1 0.900</li>" in report and "<li>&lt;b&gt; img2 0.500</li>" in report  # escaped
    assert 'src="../data/duplicates.js"' in report  # its root is the way back from its folder
    assert (out / "data" / "duplicates.js").read_text().startswith("window.VSIS_DUPLICATES = [[")
    link = '<a href="{root}reports/duplicates.html"{current}>Duplicates</a>'
    assert link.format(root="../", current=' aria-current="page"') in report
    for page, root in (("index.html", ""), ("explore.html", ""), ("compare/img0.html", "../")):
        assert link.format(root=root, current="") in (out / page).read_text(), page
    assert model.page_of("duplicates") is product.page and model.page_of("map") is None


def test_without_the_registration_line_the_site_has_no_trace_of_it(tmp_path: Path) -> None:
    out = tmp_path / "site"
    render.render(small_model(tmp_path / "model"), out)
    assert not (out / "reports").exists() and not (out / "data" / "duplicates.js").exists()
    assert "Duplicates" not in (out / "index.html").read_text()


def test_the_files_a_product_places_are_copied_into_the_site(tmp_path: Path) -> None:
    source = tmp_path / "cached.bin"
    source.write_bytes(b"\x00atlas")
    thumbs = BlobStore(tmp_path / "thumbs", ".jpg")
    product = DuplicatesProduct([], _templates(tmp_path), placed={"reports/atlas.bin": str(source)})
    model = site_model("c", [], [], 0, [], None, "", 1, {}, thumbs, {"vsis": "t"}, page_items([], thumbs), [product])
    assert model.extra_files == {"reports/atlas.bin": str(source)}
    render.render(model, tmp_path / "site")
    placed = tmp_path / "site" / "reports" / "atlas.bin"
    assert placed.read_bytes() == b"\x00atlas" and placed.stat().st_ino != source.stat().st_ino  # a copy

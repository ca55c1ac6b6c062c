"""Reading a built site back: every reference a page makes, resolved the way a browser would."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse


@dataclass(frozen=True)
class Ref:
    page: Path
    tag: str
    attr: str
    value: str


class _Collector(HTMLParser):
    def __init__(self, page: Path) -> None:
        super().__init__()
        self.page = page
        self.refs: list[Ref] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for attr, value in attrs:
            if attr in ("href", "src") and value is not None:
                self.refs.append(Ref(self.page, tag, attr, value))


def references(site: Path) -> list[Ref]:
    refs = []
    for page in sorted(site.rglob("*.html")):
        collector = _Collector(page)
        collector.feed(page.read_text(encoding="utf-8"))
        refs.extend(collector.refs)
    return refs


def broken_or_outside(site: Path) -> list[str]:
    """References that leave the site or point at nothing. Outbound <a> links (a record's URL) are allowed;
    anything the page loads (img, script, link) must be inside the site."""
    problems = []
    root = site.resolve()
    for ref in references(site):
        parsed = urlparse(ref.value)
        if parsed.scheme or ref.value.startswith("//"):
            if not (ref.tag == "a" and parsed.scheme in ("http", "https")):
                problems.append(f"{ref.page.relative_to(site)}: <{ref.tag} {ref.attr}={ref.value!r}> leaves the site")
            continue
        if ref.value.startswith("/"):
            problems.append(f"{ref.page.relative_to(site)}: absolute path {ref.value!r}")
            continue
        target = (ref.page.parent / unquote(parsed.path)).resolve() if parsed.path else ref.page.resolve()
        if root not in target.parents and target != root:
            problems.append(f"{ref.page.relative_to(site)}: {ref.value!r} resolves outside the site")
        elif not target.is_file():
            problems.append(f"{ref.page.relative_to(site)}: {ref.value!r} does not exist")
    return problems

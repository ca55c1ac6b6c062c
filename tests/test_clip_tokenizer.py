"""static/clip-tokenizer.js in headless Chromium gives the token ids open_clip's own tokenizer gives, on 600
strings: words of many scripts, emoji (skin tones, flags, joined sequences), punctuation, digits, HTML entities
and markup, curly quotes, ligatures, full-width letters, control characters, terminal colour codes, every kind
of space, contractions, the special tokens, and texts past 77 tokens."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

WORDS = [
    "mountain",
    "a photo of a dog",
    "Sunset over the SEA",
    "still life",
    "portrait",
    "Mona Lisa",
    "Ölgemälde",
    "Straße",
    "café",
    "naïve",
    "façade",
    "Ångström",
    "ﬁsh",
    "ﬂower",
    "œuvre",
    "ŉ",
    "Ĳssel",
    "Ｌｏｕｄ",
    "ﾀｰﾝ",
    "東京タワー",
    "富士山",
    "猫",
    "고양이",
    "산",
    "Москва",
    "кошка",
    "Ελλάδα",
    "ΟΔΥΣΣΕΥΣ",
    "ωμέγα",
    "القطة",
    "جبل",
    "חתול",
    "पहाड़",
    "बिल्ली",
    "ภูเขา",
    "แมว",
    "Việt Nam",
    "Łódź",
    "İstanbul",
    "ǅ",
    "ß",
    "ẞ",
    "K",
    "ſ",
    "e\u0301",
    "n\u0303o",
    "Ａ１",
    "①②",
    "Ⅻ",
    "½",
    "٣",
    "३",
    "໓",
    "𝟘𝟙",
    "𝒥ohn",
    "x²",
    "μ",
    "µ",
]
EMOJI = ["😀", "🐱", "🏔️", "👍🏽", "👩‍👩‍👧", "🇫🇷", "🏳️‍🌈", "❤️", "🔥🔥", "🦄", "✨", "🧗‍♀️", "1️⃣", "🏴󠁧󠁢󠁷󠁬󠁳󠁿"]
PUNCT = [
    "!",
    "?!",
    "...",
    "…",
    "—",
    "–",
    "-",
    "--",
    "(",
    ")",
    "[x]",
    "{y}",
    "«quote»",
    "„low“",
    "“curly”",
    "‘single’",
    "it's",
    "IT'S",
    "we're",
    "I'LL",
    "you'd",
    "can't",
    "o'clock",
    "#hashtag",
    "@user",
    "e-mail",
    "50%",
    "$100",
    "€5",
    "3.14",
    "1,000",
    "2024-01-01",
    "a/b",
    "a\\b",
    "a_b",
    "*",
    "~~",
    "``",
    "'",
    '"',
    "´",
    "¿",
    "¡",
    "§",
    "¶",
]
HTML = [
    "&amp;",
    "&lt;b&gt;bold&lt;/b&gt;",
    "&eacute;t&eacute;",
    "&EACUTE;",
    "&#233;",
    "&#xE9;",
    "&#x1F600;",
    "&amp;amp;",
    "&notit;",
    "&not",
    "&copy 2024",
    "&#128512",
    "&#0;",
    "&#x110000;",
    "&#150;",
    "&nbsp;x",
    "<b>bold</b> &amp; co",
    "AT&T",
    "&Jscr;ohn",
    "&checkmark;",
    "&SZLIG;",
    "&ntilde; &Ntilde; &NTILDE;",
]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u2028", "\x85", "\x1c", "\u200b", "\ufeff"]
ODD = ["\x1b[31mred\x1b[0m", "\x00nul", "\x07bell", "\x7f", "\u202eRTL", "\u2066x\u2069", "\x9chi", "\x93q\x94",
       "<start_of_text>", "<END_OF_TEXT>", "<start_of_text >", "\ufffd"]  # fmt: skip


def strings(n: int = 600, seed: int = 30) -> list[str]:
    rng = random.Random(seed)
    pools = [WORDS, EMOJI, PUNCT, HTML, SPACES, ODD]
    out = [*WORDS, *EMOJI, *PUNCT, *HTML, *ODD, ""]
    while len(out) < n - 40:
        parts = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 8))]
        out.append("".join(p + rng.choice(["", " ", " ", "\n"]) for p in parts))
    while len(out) < n:  # overlong: past the 77 tokens a text tower reads
        out.append(" ".join(rng.choice(WORDS + EMOJI + PUNCT) for _ in range(rng.randint(60, 300))))
    return out


@pytest.fixture(scope="module")
def tokenizer_page(browser):
    pytest.importorskip("open_clip")
    from builder.query.clip_tokenizer import tokenizer_data

    page = browser.new_page()
    page.set_content("<!doctype html><meta charset=utf-8><title>tokenizer</title>")
    page.add_script_tag(path=str(REPO / "static" / "clip-tokenizer.js"))
    page.evaluate("data => { window.tokenizer = vsisClipTokenizer.create(data); }", tokenizer_data())
    yield page
    page.close()


def test_the_pages_token_ids_are_open_clips_on_600_strings(tokenizer_page) -> None:
    import open_clip

    texts = strings()
    assert len(texts) >= 500 and len(set(texts)) > 450
    expected = open_clip.get_tokenizer("ViT-B-32")(texts).tolist()
    got = tokenizer_page.evaluate("texts => texts.map(t => window.tokenizer.encode(t))", texts)
    wrong = [(t, g, e) for t, g, e in zip(texts, got, expected, strict=True) if g != e]
    assert not wrong, f"{len(wrong)} of {len(texts)} differ, the first: {wrong[0][0]!r}\n{wrong[0][1]}\n{wrong[0][2]}"
    assert sum(e[-1] != 0 for e in expected) >= 40  # the overlong ones were cut, ending in the end token
    assert all(e[-1] in (0, 49407) for e in expected)

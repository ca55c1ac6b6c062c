"""What static/clip-tokenizer.js needs to turn a visitor's words into the token ids open_clip's text tower reads,
exactly as open_clip's SimpleTokenizer does (its "lower" clean-up, byte-level BPE, 77 tokens).

Every table comes from the libraries themselves, so the page follows the versions the site was built with:

- `merges`: the BPE merges open_clip reads (bpe_simple_vocab_16e6.txt.gz, its first 48,894), in rank order; the
  vocabulary is derived from them as open_clip derives it (the 256 byte characters, the same with "</w>", the
  merges, the two special tokens).
- ftfy.fix_text's fixes that the clean-up applies (ftfy 6): `chars`, each character that the C1-control,
  Latin-ligature, character-width and curly-quote fixes change, with what they make of it (each of those fixes
  acts on one character at a time, so applying them to each character alone is exact); `control`, the characters
  ftfy removes; `entities`, the entities ftfy's own unescape decodes (those ending in ";" and its upper-case
  ones).
- Python's html.unescape, applied twice after ftfy: `html5` (html.entities.html5: the entities with and without
  ";"), `invalid_charrefs` and `invalid_codepoints` (its replacements for numeric references).
- `whitespace`: the characters str.split() splits on (str.isspace), which JavaScript's \\s does not equal.

Not reproduced: ftfy's repair of mojibake (text decoded with the wrong encoding, "Ã©" for "é"); ftfy applies it
only where it is confident, which ordinary typed words never are (tests/test_clip_tokenizer.py checks 600
strings of many scripts, emoji, punctuation and HTML against open_clip itself).
"""

from __future__ import annotations

import gzip
import html
import html.entities
import sys

CONTEXT_LENGTH = 77  # every CLIP text tower's
MERGES = 49152 - 256 - 2  # the merges open_clip reads (SimpleTokenizer: merges[1:49152-256-2+1])


def tokenizer_data() -> dict[str, object]:
    """The tables above, as the page reads them (JSON-ready). Needs open_clip (and so ftfy)."""
    import ftfy.chardata as chardata
    import ftfy.fixes as fixes
    from open_clip.tokenizer import default_bpe

    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1 : MERGES + 1]
    candidates = {*range(0x80, 0xA0), *chardata.LIGATURES, *chardata.WIDTH_MAP, 0x2BC, *range(0x2018, 0x2020)}
    chars = {}
    for code in sorted(candidates):
        c = chr(code)
        fixed = fixes.uncurl_quotes(fixes.fix_character_width(fixes.fix_latin_ligatures(fixes.fix_c1_controls(c))))
        if fixed != c:
            chars[c] = fixed
    html5 = dict(html.entities.html5)
    entities = {name[1:-1]: value for name, value in chardata.HTML_ENTITIES.items() if html5.get(name[1:]) != value}
    return {
        "merges": merges,
        "context": CONTEXT_LENGTH,
        "chars": chars,
        "control": "".join(chr(c) for c in sorted(chardata.CONTROL_CHARS)),
        "entities": entities,  # beyond html5's with ";": ftfy's upper-case ones
        "html5": html5,
        "invalid_charrefs": {str(k): v for k, v in html._invalid_charrefs.items()},  # type: ignore[attr-defined]
        "invalid_codepoints": sorted(html._invalid_codepoints),  # type: ignore[attr-defined]
        "whitespace": "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()),
    }

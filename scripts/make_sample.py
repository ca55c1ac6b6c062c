"""Regenerate the bundled sample collection from Debian's `openclipart-png` package.

    apt-get install openclipart-png
    python scripts/make_sample.py            # writes samples/openclipart/

Picks a fixed-seed sample of images from ten categories, down-scales each to fit 256x256 (transparency
kept), and writes metadata.csv (file, title, category, source, subject, artist, date) and a licence note.
OpenClipart's drawings are public domain (Creative Commons Public Domain Dedication; see
/usr/share/doc/openclipart-png/copyright).
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import shutil
from pathlib import Path

from PIL import Image

SOURCE = Path("/usr/share/openclipart/png")
CATEGORIES = (
    "animals",
    "buildings",
    "food",
    "geography",
    "office",
    "people",
    "plants",
    "recreation",
    "tools",
    "transportation",
)
MAX_SOURCE_PIXELS = 20_000_000  # OpenClipart holds a 168-megapixel PNG; it is not needed here

LICENCE = """# Licence of the sample images

The images in this folder are drawings from the Open Clip Art Library (openclipart.org), as packaged by
Debian in `openclipart-png`, down-scaled to fit 256x256 pixels. They are in the public domain: each was
published under the Creative Commons Public Domain Dedication (Copyright-Only Dedication or Public Domain
Certification); see `/usr/share/doc/openclipart-png/copyright` on a Debian system.

`metadata.csv` lists each file with a title derived from its original file name, its category (the
OpenClipart folder it came from), its path in the package, its sub-folder there (subject), and the author and
creation date its original file states, as written there. Regenerate with `scripts/make_sample.py`.
"""


def title_of(stem: str) -> str:
    words = re.sub(r"[_\-]+", " ", stem).split()
    words = [w for w in words if not re.fullmatch(r"\d+", w)]
    return " ".join(words).strip().capitalize() or stem


def subject_of(relpath: str) -> str:
    """OpenClipart's own sub-folder of the category ('animals/birds/x.png': 'birds'), a facet of the sample;
    '' for a drawing at the category's top."""
    parts = relpath.split("/")
    return parts[1].replace("_", " ") if len(parts) > 2 else ""


def drawing_facts(src: Path) -> dict[str, str]:
    """The artist and date the drawing's own file states (the PNG text chunks Inkscape wrote: Author, Creation
    Time), as written: 148 of the sample's 150 name their author, 29 a date ("2005-04-22", "Aug 2005",
    "20 09 2005", "09/01/05")."""
    with Image.open(src) as im:
        info = im.info
    return {"artist": str(info.get("Author", "")).strip(), "date": str(info.get("Creation Time", "")).strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("samples/openclipart"))
    parser.add_argument("--per-category", type=int, default=15)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=71)
    args = parser.parse_args()

    if not SOURCE.is_dir():
        raise SystemExit(f"{SOURCE} not found: apt-get install openclipart-png")
    if args.out.exists():
        shutil.rmtree(args.out)
    rng = random.Random(args.seed)
    rows = []
    for category in CATEGORIES:
        files = sorted((SOURCE / category).rglob("*.png"))
        rng.shuffle(files)
        taken = 0
        for src in files:
            if taken == args.per_category:
                break
            with Image.open(src) as im:
                dest = args.out / category / src.name.lower()
                if im.width * im.height > MAX_SOURCE_PIXELS or min(im.size) < 32 or dest.exists():
                    continue
                im = im.convert("RGBA")
                im.thumbnail((args.size, args.size), Image.Resampling.LANCZOS)
                dest.parent.mkdir(parents=True, exist_ok=True)
                im.save(dest, optimize=True)
            rows.append(
                {
                    "file": dest.relative_to(args.out).as_posix(),
                    "title": title_of(src.stem),
                    "category": category,
                    "source": f"openclipart-png: {src.relative_to(SOURCE).as_posix()}",
                    "subject": subject_of(src.relative_to(SOURCE).as_posix()),
                    **drawing_facts(src),
                }
            )
            taken += 1
    with (args.out / "metadata.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "title", "category", "source", "subject", "artist", "date"])
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: r["file"]))
    (args.out / "LICENSE.md").write_text(LICENCE, encoding="utf-8")
    print(f"{len(rows)} images in {len(CATEGORIES)} categories written to {args.out}")


if __name__ == "__main__":
    main()

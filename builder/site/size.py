"""How big a published site is, against where it will be published: GitHub Pages refuses a site over 1 GB
and any file over 100 MB. Measured as a Pages artifact counts it: the apparent size of every file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

GITHUB_PAGES_BYTES = 1_000_000_000
GITHUB_FILE_BYTES = 100_000_000


@dataclass(frozen=True)
class SiteSize:
    bytes: int
    files: int
    largest: str  # path relative to the site
    largest_bytes: int

    def describe(self) -> str:
        return (f"{self.bytes / 1e6:,.1f} MB in {self.files:,} files, the largest {self.largest} "
                f"({self.largest_bytes / 1e6:,.1f} MB)")  # fmt: skip


def measure(site: Path) -> SiteSize:
    total, files, largest, largest_bytes = 0, 0, "", 0
    for folder, _, names in os.walk(site):
        for name in names:
            size = os.stat(os.path.join(folder, name), follow_symlinks=False).st_size
            total, files = total + size, files + 1
            if size > largest_bytes:
                largest, largest_bytes = Path(folder, name).relative_to(site).as_posix(), size
    return SiteSize(total, files, largest, largest_bytes)


def over_budget(size: SiteSize, budget: int) -> list[str]:
    """What is wrong with the site's size, each in one line, naming the settings that shrink it."""
    problems = []
    if size.bytes > budget:
        problems.append(
            f"the site is {size.bytes / 1e6:,.1f} MB, over its budget of {budget / 1e6:,.0f} MB ([site] budget_mb; "
            "GitHub Pages publishes at most 1,000 MB): a smaller thumb_size, a smaller k or fewer networks shrink it"
        )
    if size.largest_bytes > GITHUB_FILE_BYTES:
        problems.append(f"{size.largest} is {size.largest_bytes / 1e6:,.1f} MB: GitHub refuses files over 100 MB")
    return problems

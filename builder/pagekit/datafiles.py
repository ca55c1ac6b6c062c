"""The data files of the site are scripts: browsers refuse fetch() of local files, so every page reads its
data as <script> files, which work from file:// as well as over http (site/explorer_data.py says how the
explorer's are cut; the map's and the query page's follow the same rules). These are their one writer."""

from __future__ import annotations

import json
import re
from pathlib import Path


def json_for_script(data: object) -> str:
    """JSON that is also safe inside a <script> element or a .js file: '<', '>' and '&' are escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def global_script(name: str, value: object) -> str:
    """A page's index file: a script that sets window.<name> to `value` (data/index.js, data/map/index.js,
    data/query/index.js), loaded by the page's own <script> tag."""
    return f"window.{name} = {json_for_script(value)};\n"


def shard_script(name: str, payload: object) -> str:
    """A data file of the site: a script that hands `payload` to VSIS_SHARD under its own path `name`
    (static/shards.js). The explorer's, the map's and the query page's files are all written by this."""
    return f"VSIS_SHARD({json_for_script(name)},{json_for_script(payload)});\n"


def read_shard(site: Path, rel: str) -> object:
    """The payload of the data file `rel` of a built site, `VSIS_SHARD("name", {...});`, named after its own path
    (what the tests and benchmarks read back)."""
    text = (site / rel).read_text(encoding="utf-8")
    match = re.fullmatch(r'VSIS_SHARD\("([^"]+)",(.*)\);\n', text, re.S)
    if not match or match.group(1) != rel:
        raise ValueError(f"{site / rel}: not a data file of the site named {rel}")
    return json.loads(match.group(2))


def read_global(site: Path, rel: str, name: str) -> dict:
    """The value of a page's index file of a built site, `window.<name> = {...};` (data/index.js, ...)."""
    text = (site / rel).read_text(encoding="utf-8")
    match = re.fullmatch(rf"window\.{name} = (.*);\n", text, re.S)
    if not match:
        raise ValueError(f"{site / rel}: not a script that sets window.{name}")
    return json.loads(match.group(1))

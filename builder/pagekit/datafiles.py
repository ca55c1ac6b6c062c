"""The data files of the site are scripts: browsers refuse fetch() of local files, so every page reads its
data as <script> files, which work from file:// as well as over http (site/explorer_data.py says how the
explorer's are cut; the map's and the query page's follow the same rules). These are their one writer."""

from __future__ import annotations

import json


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

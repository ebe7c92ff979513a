# The two commands of the README: `make book` and `make test`.
# Both create .venv from requirements.txt when it is missing or older than the requirements.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

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

book: $(STAMP)
	$(BIN)/python tools/build_book.py

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python tools/benchmark.py

clean:
	rm -rf _build

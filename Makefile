# Two commands for a newcomer: `make run` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# Data files from npm that the agent UI reads at run time (the visitor map's world outline).
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --quiet
	touch $@

run: $(VENV)/.installed node_modules/.installed
	$(BIN)/saruna migrate --no-input
	$(BIN)/saruna demo
	SARUNA_DEBUG=$${SARUNA_DEBUG:-1} $(BIN)/saruna serve

test: $(VENV)/.installed-test node_modules/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" ./scripts/test.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check saruna tests bench
	$(BIN)/mypy saruna

# Refresh the message catalogs after changing user-facing strings.
messages: $(VENV)/.installed-test
	cd saruna && SARUNA_VAR_DIR=../var ../$(BIN)/saruna makemessages -l lv -l en --no-obsolete
	cd saruna && SARUNA_VAR_DIR=../var ../$(BIN)/saruna compilemessages

# Rebuild the golden mail corpus (tests/mail/corpus) and rewrite its expected .json from the
# parser: on purpose only, then read the diff.
.PHONY: mail-corpus
mail-corpus: $(VENV)/.installed
	$(BIN)/python scripts/mail_corpus.py --refresh

clean:
	rm -rf $(VENV) var

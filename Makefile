# truex-cefi — every target does its own set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: install generate check-generated lint typecheck docs test demo sandbox clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[sandbox,jwt,stream]' --group dev
	touch $@

install: $(STAMP)

## generate: write generated/truex_client from openapi/truex.yaml
generate: $(STAMP)
	$(BIN)/python scripts/generate.py

## check-generated: fail with the diff when generated/ is not what the spec produces
check-generated: $(STAMP)
	$(BIN)/python scripts/generate.py --check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy tests/typing

## docs: the API reference (mkdocs-material + mkdocstrings, mkdocs.yml, docs/) -> site/; --strict makes a
## warning (an unresolved reference, a docstring griffe cannot parse) an error. Offline: nothing fetched.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## test: everything CI runs. The served-sandbox contract run and the Prism contract run (tests/test_prism.py
## against Prism mocks; needs Node and the npm registry) go before pytest so that pytest's "N passed" line
## closes the output; that last run leaves out test_prism.py, which only skips without the mocks.
test: $(STAMP) browser check-generated lint typecheck docs contract contract-prism
	$(BIN)/pytest --ignore=tests/test_prism.py

## browser: Debian's Chromium (and its driver) for the browser tests of the sandbox's page
## (tests/test_web_page.py, Playwright pointed at /usr/bin/chromium); installed only when missing, with sudo
## only when not root. Never `playwright install`: browser downloads cannot be fetched.
BROWSER := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BROWSER):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver

.PHONY: browser
browser: $(BROWSER)

## contract: schemathesis CLI against a served sandbox (uvicorn, free loopback port) -> reports/contract-junit.xml
.PHONY: contract
contract: $(STAMP)
	scripts/contract.sh

## contract-prism: the client against Stoplight Prism mocks of the spec (needs Node >= 18.20.1 and npm)
PRISM_STAMP := node_modules/.installed-prism

$(PRISM_STAMP): package.json $(wildcard package-lock.json)
	if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
	else npm install --no-audit --no-fund --save-exact; fi
	touch $@

.PHONY: contract-prism
contract-prism: $(STAMP) $(PRISM_STAMP)
	scripts/prism.sh

## spec-drift: fetch the published description (scripts/fetch_spec.py) and report how it differs from
## openapi/truex.yaml (scripts/spec_diff.py); non-zero on a breaking change or a failed fetch. Not part of test.
UPSTREAM ?= openapi/upstream/truex.yaml

.PHONY: spec-drift
spec-drift: $(STAMP)
	@$(BIN)/python scripts/fetch_spec.py --output $(UPSTREAM) >&2
	@$(BIN)/python scripts/spec_diff.py openapi/truex.yaml $(UPSTREAM)

## demo: a short trading session through the client against the embedded sandbox
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

## sandbox: serve the local exchange on http://127.0.0.1:8765 (prints the API keys and the web page's address;
## opens no browser)
sandbox: $(STAMP)
	$(BIN)/truex-sandbox

## bench: the SDK and the sandbox against their floors -> bench/results.json, bench/results.png (never fails on a miss)
.PHONY: bench
$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[sandbox,jwt,stream]' --group dev --group bench
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache .hypothesis

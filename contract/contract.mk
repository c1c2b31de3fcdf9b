# Contract checks: OpenAPI lint, generated TypeScript and Python clients, Swagger UI in a browser.
#
#   make lint-api        openapi-spec-validator + Spectral (contract/spectral.yaml) on openapi.yaml
#   make contract-test   lint-api, then both generated clients and Swagger UI in Chromium against a live server
#   make fuzz-api        Schemathesis against a live server and openapi.yaml (zero 5xx, every response conforms)
#   make fuzz-reach      Schemathesis's stateful phase alone, then a check that it reached every operation
#   make contract-deps   install the tools: npm packages (contract/package-lock.json), a Python venv
#                        (contract/python/requirements.txt) and Debian's Chromium
#
# The tools live under contract/ (node_modules/, .venv/), apart from the tests' .venv: their pins move
# on their own schedule and `make test` need not install them.

CONTRACT := contract
CHROMIUM ?= /usr/bin/chromium

.PHONY: lint-api contract-test contract-deps contract-chromium

contract-deps: $(CONTRACT)/node_modules/.installed $(CONTRACT)/.venv/.installed contract-chromium

$(CONTRACT)/node_modules/.installed: $(CONTRACT)/package.json $(CONTRACT)/package-lock.json
	cd $(CONTRACT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CONTRACT)/.venv/.installed: $(CONTRACT)/python/requirements.txt
	python3 -m venv $(CONTRACT)/.venv
	$(CONTRACT)/.venv/bin/pip install --quiet --disable-pip-version-check -r $(CONTRACT)/python/requirements.txt
	touch $@

## Debian's Chromium for the Swagger UI test (installed once; needs root, as on CI and the dev machines).
contract-chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing Debian's chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null; \
	fi
	@$(CHROMIUM) --version

## The committed openapi.yaml passes openapi-spec-validator and Spectral with no error and no warning.
lint-api: $(CONTRACT)/node_modules/.installed $(CONTRACT)/.venv/.installed
	$(CONTRACT)/.venv/bin/openapi-spec-validator openapi.yaml
	cd $(CONTRACT) && node_modules/.bin/spectral lint --ruleset spectral.yaml --fail-severity=warn ../openapi.yaml

## lint-api, then the generated clients and Swagger UI against a server started for the run.
contract-test: lint-api contract-deps build
	$(CONTRACT)/run.sh target/debug/portcullis

## Schema fuzzing: Schemathesis against a live server and openapi.yaml (see contract/fuzz.sh for the budget).
FUZZ := $(CONTRACT)/fuzz
.PHONY: fuzz-api fuzz-reach fuzz-deps

fuzz-deps: $(FUZZ)/.venv/.installed

$(FUZZ)/.venv/.installed: $(FUZZ)/requirements.txt
	python3 -m venv $(FUZZ)/.venv
	$(FUZZ)/.venv/bin/pip install --quiet --disable-pip-version-check -r $(FUZZ)/requirements.txt
	touch $@

## Every phase with every default check, then the stateful phase's reach check (fuzz-reach, its own budget).
fuzz-api: fuzz-deps build
	$(CONTRACT)/fuzz.sh target/debug/portcullis
	FUZZ_MAX_EXAMPLES=100 FUZZ_MAX_TIME=$${FUZZ_REACH_SECONDS:-90} $(MAKE) --no-print-directory fuzz-reach

## The stateful phase alone, along the contract's links, for FUZZ_MAX_TIME seconds (default 90: suites of
## FUZZ_MAX_EXAMPLES scenarios, default 100, repeat with new seeds until then); then contract/fuzz/reach.py reads the
## server's log and fails unless every operation of openapi.yaml got an answer other than 401 and 404.
fuzz-reach: fuzz-deps build
	FUZZ_PHASES=stateful FUZZ_REACH=1 FUZZ_MAX_TIME=$${FUZZ_MAX_TIME:-90} FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-100} \
		$(CONTRACT)/fuzz.sh target/debug/portcullis

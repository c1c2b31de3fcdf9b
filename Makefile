# Portcullis: `make run` starts a local server with demo data; `make test` runs every check.

SHELL := /bin/bash
CARGO ?= cargo

# libpq is built from source (pq-sys `bundled`) and needs OpenSSL. Use the system's when its
# development files are present (fast); otherwise build OpenSSL from source too (slower, no system libraries).
ifeq ($(shell pkg-config --exists openssl 2>/dev/null && echo yes || (test -f /usr/include/openssl/ssl.h && echo yes)),yes)
FEATURES :=
else
FEATURES := --features portcullis-api/vendored-openssl
endif

.PHONY: run build release test fmt clippy openapi clean venv scim-test

# Contract tooling (lint, generated clients, browser test) and benchmarks live in their own makefiles.
include contract/contract.mk bench/bench.mk

## Build, migrate a local SQLite file, seed demo data, print tokens and serve on 127.0.0.1:8080.
run: build
	@scripts/dev-run.sh target/debug/portcullis

build:
	$(CARGO) build --bin portcullis $(FEATURES)

release:
	$(CARGO) build --release --bin portcullis $(FEATURES)

## Python tools for the tests (a real SMTP server), pinned in requirements-dev.txt, in .venv.
venv: .venv/.installed

.venv/.installed: requirements-dev.txt
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## Formatting, lints and every test: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set.
test: venv
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings
	# The multi-process tests start the real binary, which `cargo test` alone does not build.
	$(CARGO) build --bin portcullis $(FEATURES)
	$(CARGO) test --workspace $(FEATURES)

## SCIM conformance: scim2-tester against a live server with a fresh SQLite database, and with a fresh database on
## TEST_DATABASE_URL's PostgreSQL server too when it is set (see tests/support/scim_test.sh).
scim-test: venv build
	tests/support/scim_test.sh target/debug/portcullis
	$(if $(TEST_DATABASE_URL),tests/support/scim_test.sh target/debug/portcullis "$(TEST_DATABASE_URL)")

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings

## Regenerate openapi.yaml from the code (a test fails while the committed file differs).
openapi:
	$(CARGO) run --quiet --bin portcullis $(FEATURES) -- openapi > openapi.yaml

clean:
	$(CARGO) clean
	rm -rf .dev

# The two commands a new user needs:  `make run`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

.PHONY: run test install lint typecheck pytest system-deps clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

# --inexact keeps uv itself in the virtualenv it manages.
$(VENV)/.synced: $(BIN)/uv pyproject.toml uv.lock package.json package-lock.json
	$(BIN)/uv sync --locked --inexact --quiet
	$(BIN)/npm ci --silent --no-audit --no-fund
	touch $@

install: $(VENV)/.synced

## Run the whole platform with demo data on http://127.0.0.1:8000 (Ctrl-C stops everything).
run: install
	$(BIN)/python -m config.devstack run

## Lint, type-check and run the whole test suite (browser tests included).
test: install system-deps
	$(BIN)/python -m config.devstack test

# Browser tests drive Debian's Chromium, the PgBouncer tests Debian's pgbouncer; install them
# when we can (root with apt), else say how.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need Chromium: sudo apt-get install chromium" >&2; exit 1; fi; }
	@# The PgBouncer tests (tests/ops) run Debian's pgbouncer; deploy/local-cluster also HAProxy.
	@command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer haproxy >/dev/null; \
	  else echo "PgBouncer tests need it: sudo apt-get install pgbouncer haproxy" >&2; exit 1; fi; }

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) node_modules staticfiles

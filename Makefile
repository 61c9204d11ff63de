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

# Browser tests drive Debian's Chromium; PDFs (WeasyPrint) need Pango; translations are compiled
# with gettext's msgfmt; the PgBouncer tests run Debian's pgbouncer (deploy/local-cluster also
# HAProxy). Install what is missing when we can (root with apt), else say how.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v msgfmt >/dev/null 2>&1 || missing="$$missing gettext"; \
	ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	{ command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; } || missing="$$missing pgbouncer haproxy"; \
	[ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Boxoffice needs:$$missing (sudo apt-get install$$missing)" >&2; exit 1; fi; }
	@$(BIN)/python -c "import weasyprint" || { echo "WeasyPrint cannot load Pango" >&2; exit 1; }

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) node_modules staticfiles

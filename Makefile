# Every target creates .venv itself, so a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: install demo test bench lint clean browser postgres serve cluster

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/newsmon demo

# The browser tests drive Debian's chromium (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The cluster test and `make cluster` run Debian's PostgreSQL server programs, which live in
# /usr/lib/postgresql/<major>/bin, out of PATH.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the cluster test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

test: $(STAMP) browser postgres
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# A local Prefect server on 127.0.0.1:4200 serving the deployments of deploy/prefect.yaml;
# SOURCES=path/to/sources.yaml makes that file their sources file (default: sources.yaml).
serve: $(STAMP)
	$(BIN)/python deploy/serve.py --port $(or $(PORT),4200) $(if $(SOURCES),--sources '$(SOURCES)')

# PostgreSQL, a Prefect server on it and two workers on the work pool `newsmon`, all on
# 127.0.0.1 with throwaway files (deploy/README.md); Ctrl-C stops them all.
cluster: $(STAMP) postgres
	$(BIN)/python deploy/cluster.py --port $(or $(PORT),4200)

# Every benchmark and evaluation at full size (tens of minutes); `make test` runs them small.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check src flows tests bench deploy

clean:
	rm -rf $(VENV) data/demo .pytest_cache

# Two commands set up a fresh machine (python3, pip and make are all it needs):
#   make demo   the main job on the built-in sandbox HubSpot (no token, no network)
#   make test   the whole suite, SQLite and a real PostgreSQL
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?= -n 2

.PHONY: install demo test bench soak mutate clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# First `init` finds where the demo portal keeps its renewals (a partner object with Spanish
# names among decoys) and writes renewal-worker-demo.toml; then one run with it, ending with the
# renewals table and the tasks it created in the demo portal. Afterwards
# `.venv/bin/renewal-worker --demo status|renewals|findings|tasks|panel` read the demo cache.
demo: $(STAMP)
	$(BIN)/renewal-worker --demo init --yes --config renewal-worker-demo.toml
	$(BIN)/renewal-worker --demo --config renewal-worker-demo.toml --sync-now
	@echo "The command is $(BIN)/renewal-worker (or run 'source $(BIN)/activate' first to type renewal-worker)."

test: $(STAMP)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.sync_bench
	$(BIN)/python -m bench.rules_bench

soak: $(STAMP)
	$(BIN)/python -m bench.soak

# Mutation testing of the pure decisions (see [tool.mutmut] in pyproject.toml); not part of CI.
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check mutmut==3.8.1
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/python -m bench.mutation_score

clean:
	rm -rf $(VENV) renewal-worker-demo.db* renewal-worker-demo.toml .pytest_cache mutants

# Two commands matter: `make run` (the service, embedded mode) and `make test` (the whole suite).
# uv is installed on first use when the machine lacks it. `make bench-quick` / `make bench` measure
# the service against its baselines (docs/benchmarks.md); they are not part of `make test`.

export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: run test uv sync lint typecheck pytest schema migrate seed-demo clean bench bench-quick wrk

run: sync
	$(UV) run dispensary serve

test: sync lint typecheck pytest

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --user --quiet uv

sync: uv
	$(UV) sync --locked

lint:
	$(UV) run lint-imports
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck:
	$(UV) run mypy .

pytest:
	$(UV) run pytest

schema: sync
	$(UV) run strawberry export-schema schema:schema --output schema.graphql

migrate: sync
	$(UV) run dispensary migrate

seed-demo: sync
	$(UV) run dispensary seed-demo

# wrk drives the HTTP load; without it (and without root to install it) a Python client does.
wrk:
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		apt-get install -y -qq wrk >/dev/null; } || echo "wrk unavailable: using the Python load client"

bench-quick: sync wrk
	$(UV) run python -m bench --patients 100000 --seconds 6 --rounds 3 --messages 10000

bench: sync wrk
	$(UV) run python -m bench --patients 100000 --patients 1000000 --seconds 10 --rounds 3 --messages 100000

clean:
	rm -rf .venv .mypy_cache .ruff_cache dispensary.sqlite3*

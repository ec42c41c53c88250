# Every target bootstraps .venv when it is missing or pyproject.toml changed.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432
BENCH_DATABASE_URL ?= $(PG_URL)/loyalty_bench

.PHONY: install run test lint bench chaos demo messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_data

run: demo
	@echo ""
	@echo "  Portal:     http://127.0.0.1:8000/   (members: alice@example.com or bob@example.com / demo-password-1)"
	@echo "  Admin:      http://127.0.0.1:8000/admin/   (staff: admin / admin)"
	@echo "  API docs:   http://127.0.0.1:8000/api/v1/docs/   (a key: manage.py partner_create --name Demo)"
	@echo "  Ctrl-C stops the web server, the Celery worker and beat."
	@echo ""
	$(BIN)/honcho --procfile Procfile start

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: install
	psql "$(PG_URL)/postgres" -qc "CREATE DATABASE loyalty_bench" 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m bench

# Load while gunicorn and Celery workers are killed and Redis restarted (CHAOS_SECONDS, 600 by default).
chaos: install
	psql "$(PG_URL)/postgres" -qc "CREATE DATABASE loyalty_chaos" 2>/dev/null || true
	DATABASE_URL=$(PG_URL)/loyalty_chaos $(BIN)/python -m bench.chaos

# After changing a user-facing string: refresh locale/fr, translate what is new, compile.
MESSAGES_IGNORE := -i ".venv/*" -i "var/*" -i "bench/*" -i "tests/*" -i "*.egg-info/*"
messages: install
	$(BIN)/python manage.py makemessages -l fr --no-obsolete --no-location $(MESSAGES_IGNORE)
	$(BIN)/python manage.py compilemessages -l fr -i .venv

clean:
	rm -rf $(VENV) var staticfiles

# Two commands: `make run` (set up and start on the embedded default) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
PORT ?= 5000

.PHONY: run setup provision test test-fast test-hours bench soak clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

setup: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo load

run: setup
	@echo ""
	@echo "  Homeward is starting on http://127.0.0.1:$(PORT)  (sandbox channel: nothing leaves this machine)"
	@echo "  Staff sign-in: http://127.0.0.1:$(PORT)/login   Health: http://127.0.0.1:$(PORT)/healthz"
	@echo "  Demo accounts: instance/demo-accounts.txt   Talk to the bot: http://127.0.0.1:$(PORT)/sandbox"
	@echo ""
	PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile.dev

# Chromium, Node + Prism and PostgreSQL: installed when possible, else one line each saying how.
provision:
	bash scripts/provision.sh

test: $(VENV)/.installed provision
	$(PY) -m pytest -q

# The time-sensitive tests with the clock at several hours in several time zones (slow).
test-hours: $(VENV)/.installed provision
	$(PY) -m pytest -q tests/test_any_hour.py

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m "not browser and not slow"

# Benchmarks (docs/benchmarks.md): each prints its figures against a baseline measured in the same
# run. Needs PostgreSQL at HOMEWARD_TEST_PG (default postgres@127.0.0.1:5432/test).
bench: $(VENV)/.installed
	$(PY) bench/webhook.py
	$(PY) bench/dispatch.py
	$(PY) bench/planner.py
	$(PY) bench/locator.py
	$(PY) bench/inbox_queue.py
	$(PY) bench/safety_report.py
	$(PY) bench/understanding.py

# Reliability under redelivery, provider faults, SIGKILL and hostile input; exits non-zero on FAIL.
# Needs PostgreSQL as above and Prism (node_modules); loopback only, bounded to 10 minutes.
soak: $(VENV)/.installed node_modules/.installed
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) node_modules instance/homeward.db*

# Entry points of hashfarm.whatsminer. Each target builds its own pinned virtual environment
# (.venv, from requirements/dev.txt) first; nothing else needs to be installed by hand.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
BENCH_STAMP := $(VENV)/.installed-bench-requirements
SIM := PYTHONPATH=$(CURDIR)/simulator $(VENV_PYTHON) -m whatsminer_sim

# make sim: fleet size, firmware mix and lifetime of the simulated fleet.
SIM_COUNT ?= 10
SIM_PROFILES ?= mixed
SIM_LIFETIME ?= 3600

# make bench: options of tools/bench.py, e.g. BENCH_ARGS=--quick, BENCH_ARGS="--sizes 200 --paths auto" or BENCH_ARGS="--curtail only".
BENCH_ARGS ?=

.PHONY: help venv test demo sim build clean bench

help:
	@echo "make demo   - start a simulated fleet on loopback and run the main job against it"
	@echo "make test   - sanity, unit and integration tests (ends with one TOTAL line)"
	@echo "make sim    - run a simulated fleet in the foreground (SIM_COUNT, SIM_PROFILES, SIM_LIFETIME)"
	@echo "make build  - build the collection tarball into dist/"
	@echo "make bench  - controller cost over simulated fleets of 100, 500 and 1000 miners, discovery and demand-response rows (about an hour; BENCH_ARGS=--quick: a few min; BENCH_ARGS=\"--curtail only\": the demand-response row)"
	@echo "make clean  - remove build output and the virtual environment"

$(STAMP): requirements/dev.txt
	@test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@cp requirements/dev.txt $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(VENV_PYTHON) tools/run_tests.py

demo: $(STAMP)
	$(VENV_PYTHON) tools/demo.py

sim: $(STAMP)
	@mkdir -p build
	$(SIM) fleet --count $(SIM_COUNT) --profiles $(SIM_PROFILES) --lifetime $(SIM_LIFETIME) \
		--inventory build/sim-inventory.yml --state-file build/sim-state.json

$(BENCH_STAMP): $(STAMP) requirements/bench.txt
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements/bench.txt
	@cp requirements/bench.txt $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(VENV_PYTHON) tools/bench.py $(BENCH_ARGS)

build: $(STAMP)
	@mkdir -p dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path dist .

clean:
	rm -rf build dist $(VENV)

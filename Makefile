# The README's commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   := outputs/data/sergey_branch
SEED   ?= 42
CUSTOMERS ?= 25000
JOBS   ?= 2
# Parallelism comes from processes (pytest-xdist, report --jobs); one BLAS thread each avoids
# oversubscribing the cores, which made small matrix products many times slower.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: setup data report test test-slow test-spark lint lab bench sample examples clean mutation

setup: $(STAMP)

# Pinned versions (requirements/constraints.txt) so a new upstream release cannot break CI overnight.
$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	touch $(STAMP)

data: $(DATA)/ground_truth.json

$(DATA)/ground_truth.json: $(STAMP)
	$(BIN)/loyalty generate --out $(DATA) --customers $(CUSTOMERS) --seed $(SEED)

report: data
	$(BIN)/loyalty report --data $(DATA) --out outputs/report --jobs $(JOBS) --force

# tests, the docstring examples of every module (--doctest-modules) and the notebooks (nbval)
test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -m "not slow" tests loyalty_lib notebooks \
		--doctest-modules --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-p no:cacheprovider

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -m slow tests

# The engine on PySpark in local mode against DuckDB (Java 17). PySpark goes into .spark/, not
# .venv: pandera imports it whenever it is installed, which slows every notebook's start.
test-spark: $(STAMP)
	test -d .spark/pyspark || $(BIN)/python -m pip install --quiet --target .spark -c requirements/constraints.txt pyspark
	PYTHONPATH=.spark $(BIN)/python -m pytest -m slow tests/engine/test_spark.py -p no:cacheprovider

# Mutation testing of the estimators (tools/mutate.py): slow, not part of make test; writes docs/mutation.md.
mutation: $(STAMP)
	$(BIN)/python tools/mutate.py --all --report docs/mutation.md

lint: $(STAMP)
	$(BIN)/ruff check loyalty_lib tests notebooks tools conftest.py
	$(BIN)/ruff format --check loyalty_lib tests tools conftest.py

# Jupyter refuses to start as root (containers, CI images) unless told it may.
USER_ID ?= $(shell id -u)
LAB_FLAGS := $(if $(filter 0,$(USER_ID)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

bench: $(STAMP)  ## add BENCH_ARGS=--large for the million-customer case
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Rebuild the committed teaching sample in data/sample (run only when the generator changes on purpose).
sample: $(STAMP)
	$(BIN)/loyalty generate --out data/sample --customers 2000 --seed 7 --format csv --force

# Rebuild the realistic example exports in examples/ (run only when the generator or the export writer changes on purpose).
examples: $(STAMP)
	$(BIN)/python tools/make_examples.py

clean:
	rm -rf outputs/report outputs/data outputs/runs outputs/quarantine outputs/cache

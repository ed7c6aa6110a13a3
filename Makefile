# spatialprog: one command for the demo, one for the tests (each creates .venv when needed).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
BENCHED := $(VENV)/.bench-stamp
OUT     ?= out/example

.PHONY: install demo demo-real test lint bench bench-kernels bench-national bench-dask docs example example-real clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install spatialprog with its test tools

$(BENCHED): $(STAMP)  ## the benchmarks' peers (DuckDB spatial, SedonaDB) beside the test tools
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $(BENCHED)

demo: $(STAMP)  ## run the main job on the bundled example region
	$(BIN)/spatialprog run layers/example_region.toml --out $(OUT)

demo-real: $(STAMP)  ## run the real example (province of Utrecht: VIVET, CBS, NDW, Natura 2000; fictional plans)
	$(BIN)/spatialprog run layers/utrecht/utrecht.toml --out out/utrecht

test: $(STAMP)  ## run the test suite (real clients are used where installed, else skipped with a reason)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check spatialprog tests scripts benchmarks

bench: $(BENCHED)  ## benchmarks: print figures, assert nothing (the kernels at --small sizes; bench-kernels for full)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; args=""; case $$b in *bench_kernels.py) args=--small;; \
		*bench_national.py) args="--sites 10000";; *bench_dask.py) args="--sites 10000";; esac; \
		$(BIN)/python $$b $$args || exit 1; done

bench-kernels: $(BENCHED)  ## the core spatial kernels at national sizes beside their peers (a few minutes)
	$(BIN)/python benchmarks/bench_kernels.py

bench-national: $(BENCHED)  ## the national run (1e5 sites) per stage, its scaling exponent over 1e4/3e4/1e5, a province (1e4), the kernels beside their peers
	$(BIN)/python benchmarks/bench_national.py --scaling --province 10000 --kernels $(BENCH_ARGS)

bench-dask: $(BENCHED)  ## the heavy steps on a Dask LocalCluster beside the local engine, 1e4 and 1e5 sites
	$(BIN)/python benchmarks/bench_dask.py $(BENCH_ARGS)

docs: $(STAMP)  ## regenerate the README's layer and parameter reference from the schemas
	$(BIN)/python scripts/update_readme.py

example: $(STAMP)  ## regenerate the fictional example region in layers/
	$(BIN)/python scripts/make_example_region.py

example-real: $(STAMP)  ## re-cut layers/utrecht/ from ../shared/realdata
	$(BIN)/python scripts/make_utrecht_example.py

clean:
	rm -rf out test-artifacts .pytest_cache

# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The package's bytecode, written even where PYTHONDONTWRITEBYTECODE=1 (set on this project's
# CI machines and in docker/Dockerfile): an editable install compiles nothing, so without it
# every `scylla` command, Snakefile parse and `python -m scylla.steps` job compiles the modules
# it imports from source (docs/performance.md). A module edited since is compiled in memory.
BYTECODE = $(BIN)/python -m compileall -q scylla
# tests/cluster (every profile, a real SLURM): a venv with the executor and storage plugins.
# Not .venv: Snakemake imports every installed plugin on each start (≈ 0.5 s for these).
CLUSTER_VENV  ?= .venv-cluster
CLUSTER_BIN   := $(CLUSTER_VENV)/bin
CLUSTER_STAMP := $(CLUSTER_VENV)/.installed-stamp

.PHONY: demo test test-configs test-faults test-cluster test-container image lint format rulegraph bench bench-reports clean-demo install

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BYTECODE)
	touch $(STAMP)

## Run the embedded demo end to end (offline, stand-in claude), then print its status.
demo: $(STAMP)
	$(BYTECODE)
	$(BIN)/scylla run
	@echo
	$(BIN)/scylla status results/demo

## The test suite: real snakemake runs in temporary directories.
test: $(STAMP)
	$(BYTECODE)
	$(BIN)/python -m pytest -q --ignore=tests/faults --ignore=tests/container --ignore=tests/cluster

## The fault-injection suite (kill -9, signals, corruption, disk full, concurrent runs):
## slower, also real runs; prints a ledger of what each fault cost.
test-faults: $(STAMP)
	$(BYTECODE)
	$(BIN)/python -m pytest -q tests/faults

## The scale-out suite: every profile dry-runs (tests/cluster/test_profiles.py), and a real
## one-node SLURM cluster on this machine (root; apt-installs
## slurmctld, slurmd, munge), the demo through profiles/slurm, kill -9 of the submitter and
## recovery; then the cluster is torn down. Skipped, with the reason, where it cannot start.
test-cluster: $(CLUSTER_STAMP)
	$(CLUSTER_BIN)/python -m compileall -q scylla
	$(CLUSTER_BIN)/python -m pytest -q -ra tests/cluster

$(CLUSTER_STAMP): pyproject.toml
	test -x $(CLUSTER_BIN)/python || $(PYTHON) -m venv $(CLUSTER_VENV)
	$(CLUSTER_BIN)/python -m pip install --quiet --disable-pip-version-check \
		-e '.[dev,slurm,kubernetes]'
	touch $(CLUSTER_STAMP)

## The container image (docker/Dockerfile) without pulling anything: a Debian base made by
## mmdebstrap, imported into podman, then `podman build` (docker/build-base.sh; needs podman
## and mmdebstrap: apt-get install podman mmdebstrap).
image:
	docker/build-base.sh

## Build the image if needed and check it (user, entry point, files, no secrets, what runs):
## tests/container. Skipped, with the reason printed, where podman or mmdebstrap cannot work.
test-container: $(STAMP)
	$(BYTECODE)
	$(BIN)/python -m pytest -q -s tests/container

## Dry-run every checked-in config in .test/config/ (as snakemake-workflows' CI does), each in a
## temporary directory: snakemake -n must succeed and schedule the config's `# expected-jobs`.
test-configs: $(STAMP)
	$(BIN)/python .test/dry_run.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint
	$(BIN)/mypy
	$(BIN)/python .test/dry_run.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/snakefmt Snakefile rules

## Re-render docs/rulegraph.svg from the real workflow (needs graphviz's `dot`).
rulegraph: $(STAMP)
	$(BIN)/snakemake --rulegraph dot 2>/dev/null | dot -Tsvg > docs/rulegraph.svg
	$(BIN)/snakemake --rulegraph dot 2>/dev/null | dot -Tpng -Gdpi=110 > docs/rulegraph.png

## The issue's performance table (benchmarks/bench.py): every figure with its target, median,
## min, peak memory, a same-run baseline and PASS/MISS. Measures a `git archive HEAD` copy of
## the code; the synthetic trees are cached in $(BENCH_TREES) (built once per code version:
## the first run takes long). BENCH_ARGS adds options, e.g. BENCH_ARGS="--profile --repeat 5".
BENCH_TREES ?= /tmp/scylla-bench-trees
BENCH_ARGS  ?=
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py --snapshot --large --keep $(BENCH_TREES) $(BENCH_ARGS)

## `scylla report` on a 1,000-run synthetic experiment, and where its time goes.
bench-reports: $(STAMP)
	$(BIN)/python benchmarks/reports.py --keep $(BENCH_TREES) $(BENCH_ARGS)

clean-demo:
	@echo "results/ is never deleted by make; move it away yourself if you want a fresh demo."

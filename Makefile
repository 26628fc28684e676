# Two commands do all set-up: `make run` (environment + default pipeline) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
# The default pipeline and the tests never touch the Hugging Face hub.
export HF_HUB_OFFLINE := 1

.PHONY: help run test rehearsal report summary bench lint dry-run-paper clean

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

$(BIN)/snakemake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev,workflow]'
	touch $@

run: $(BIN)/snakemake  ## create .venv, run the default pipeline and write results/report.html
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --cores $(CORES)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --report results/report.html

report: $(BIN)/snakemake  ## the HTML report of what results/ holds
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --report results/report.html

test: $(BIN)/snakemake  ## create .venv and run the test suite (all but the paper rehearsal)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q -m "not rehearsal"

rehearsal: $(BIN)/snakemake  ## the paper-scale DAG end to end on a stand-in (generated images, random weights)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q -m rehearsal

summary: $(BIN)/snakemake  ## the README's result tables from results/tables/summary.csv (after make run; SECOND=another seed's summary.csv)
	$(BIN)/python -m attrib.readme results/tables/summary.csv README.md docs/results/summary.csv \
		$(if $(SECOND),$(SECOND) docs/results/summary_second_seed.csv)

bench: $(BIN)/snakemake  ## speed of the batched code against its anchors (benchmarks/)
	for script in benchmarks/bench_*.py; do echo "## $$script"; PYTHONPATH=src $(BIN)/python $$script || exit 1; done

lint: $(BIN)/snakemake  ## snakemake --lint and snakefmt --check
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

dry-run-paper: $(BIN)/snakemake  ## the paper-scale DAG, without running it
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake -n --configfile workflow/configs/paper.yaml

clean:  ## remove results/ and .snakemake/
	rm -rf results .snakemake

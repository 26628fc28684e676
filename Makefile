# Two commands do all set-up: `make run` (environment + default pipeline) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
# The default pipeline and the tests never touch the Hugging Face hub.
export HF_HUB_OFFLINE := 1

.PHONY: run test rehearsal report bench lint dry-run-paper clean

$(BIN)/snakemake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/snakemake
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --cores $(CORES) --workflow-profile workflow/profiles/default
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --report results/report.html

report: $(BIN)/snakemake
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --report results/report.html

test: $(BIN)/snakemake
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q -m "not rehearsal"

rehearsal: $(BIN)/snakemake
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q -m rehearsal

bench: $(BIN)/snakemake
	for script in benchmarks/bench_*.py; do echo "## $$script"; PYTHONPATH=src $(BIN)/python $$script || exit 1; done

lint: $(BIN)/snakemake
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

dry-run-paper: $(BIN)/snakemake
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake -n --configfile workflow/configs/paper.yaml

clean:
	rm -rf results .snakemake

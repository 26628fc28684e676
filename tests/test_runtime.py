"""attrib.runtime: the test-only memory switch that the SLURM test uses to force a retry."""

import sys
from types import SimpleNamespace

import pytest

from attrib.runtime import fail_if_memory_below_test_minimum


def run_as_job(monkeypatch, rule, mem_mb, config):
    """Pretend to be a rule script: Snakemake puts a `snakemake` object into its __main__."""
    job = SimpleNamespace(rule=rule, config=config, resources={"mem_mb": mem_mb})
    monkeypatch.setattr(sys.modules["__main__"], "snakemake", job, raising=False)
    fail_if_memory_below_test_minimum()


def test_listed_rule_with_too_little_memory_fails(monkeypatch):
    with pytest.raises(MemoryError, match=r"test_min_mem_mb.prepare: .* 32000 MB < 40000 MB"):
        run_as_job(monkeypatch, "prepare", 32000, {"test_min_mem_mb": {"prepare": 40000}})


def test_enough_memory_other_rules_and_unset_switch_pass(monkeypatch):
    run_as_job(monkeypatch, "prepare", 64000, {"test_min_mem_mb": {"prepare": 40000}})
    run_as_job(monkeypatch, "finetune", 1000, {"test_min_mem_mb": {"prepare": 40000}})
    run_as_job(monkeypatch, "prepare", 1000, {})


def test_outside_a_rule_script_nothing_happens(monkeypatch):
    monkeypatch.delattr(sys.modules["__main__"], "snakemake", raising=False)
    fail_if_memory_below_test_minimum()

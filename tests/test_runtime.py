"""attrib.runtime: the test-only memory switch that the SLURM test uses to force a retry, progress
in job logs, the device each job logs."""

import logging
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


def test_progress_in_a_log_is_one_line_per_interval_not_a_redrawn_bar(caplog, capsys):
    from attrib.runtime import progress_bar

    caplog.set_level(logging.INFO, logger="attrib")
    bar = progress_bar(range(3), desc="chunks", interval=0)  # stderr is captured here: not a terminal
    for _ in bar:
        bar.set_postfix(loss="0.5")
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" after ")[0] for line in lines] == ["chunks: 1/3", "chunks: 2/3", "chunks: 3/3"]
    assert "about" in lines[0] and lines[-1].endswith("loss=0.5")
    assert "\r" not in capsys.readouterr().err
    caplog.clear()
    assert list(progress_bar(range(3), desc="quick", interval=60)) == [0, 1, 2]
    assert caplog.records == []  # a loop shorter than the interval writes nothing


def test_progress_on_a_terminal_is_tqdm(monkeypatch):
    from tqdm.auto import tqdm

    from attrib.runtime import progress_bar

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert isinstance(progress_bar(range(2), desc="x"), tqdm)


def test_the_device_and_why_are_logged(caplog, monkeypatch):
    import torch

    from attrib.runtime import resolve_device

    caplog.set_level(logging.INFO, logger="attrib")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("device cpu (") and messages[0].endswith("auto: no CUDA device is visible")
    assert messages[1].endswith("config device: cpu")
    with pytest.raises(RuntimeError, match="no CUDA device is visible"):
        resolve_device("cuda")

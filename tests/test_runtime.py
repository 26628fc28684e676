"""attrib.runtime: the test-only memory switch that the SLURM test uses to force a retry, progress
in job logs, the device each job logs."""

import logging
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
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


def test_job_overhead_reads_benchmarks_and_the_logged_phases(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("job_overhead", Path(__file__).parents[1] / "benchmarks" / "job_overhead.py")
    overhead = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(overhead)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for job, wall, cpu, log in (("attribute/d/m/lime", 10.0, 9.0, "x: started: 1.50 s after the process began\n"
                                 "x: ready: 2.25 s after the process began (model)\n"),
                                ("attribute/d/m/random", 4.0, 3.0, "x: started: 1.25 s after the process began\n"),
                                ("figures/training", 2.0, 2.0, None), ("summary", 1.0, 1.0, None)):
        bench = tmp_path / "benchmarks" / f"{job}.tsv"
        bench.parent.mkdir(parents=True, exist_ok=True)
        bench.write_text(header + f"{wall}\t0:00:10\t1\t1\t1\t1\t0\t0\t50\t{cpu}\n")
        if log:
            (tmp_path / "logs" / job).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "logs" / f"{job}.log").write_text(log)
    table = overhead.rule_table(overhead.job_table(tmp_path))
    assert table.loc["attribute", "jobs"] == 2 and table.loc["attribute", "core_s"] == 12.0
    assert table.loc["attribute", "fixed_s_mean"] == 1.8 and table.loc["attribute", "fixed_s_max"] == 2.2
    assert table.loc["figure_training", "wall_s"] == 2.0
    assert table.loc["summary", "jobs"] == 1  # a benchmark beside the rule folders is its own rule
    jobs = overhead.job_table(tmp_path)
    both = overhead.comparison(jobs, jobs[jobs["rule"] == "attribute"])
    assert both.loc["attribute", "job_s_before"] == both.loc["attribute", "job_s_after"] == 14.0
    assert both.loc["figures (all)", "jobs_before"] == 1 and pd.isna(both.loc["figures (all)", "jobs_after"])
    assert both.loc["total", "jobs_before"] == 4 and both.loc["total", "job_s_after"] == 14.0
    log = tmp_path / "logs" / "attribute/d/m/random.log"
    log.write_text(log.read_text() + "x: finished: 4.00 s after the process began, 3.75 CPU s\n")
    assert overhead.rule_table(overhead.job_table(tmp_path)).loc["attribute", "core_s"] == 12.8  # 9 + 3.75


def test_a_job_logs_its_cpu_seconds_at_exit(tmp_path):
    """Snakemake's benchmark undercounts CPU time; the job's own line at exit is what
    benchmarks/job_overhead.py reads."""
    import re
    import subprocess

    log = tmp_path / "job.log"
    code = f"from attrib.runtime import setup; setup({str(log)!r}); sum(i * i for i in range(3_000_000))"
    subprocess.run([sys.executable, "-c", code], check=True)
    found = re.search(r"finished: ([0-9.]+) s after the process began, ([0-9.]+) CPU s", log.read_text())
    assert found and 0.1 < float(found.group(2)) < 60, log.read_text()

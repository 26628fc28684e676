"""The parsers of tests/slurm/check.py, on text shaped like a real SLURM run's log and sacct."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("slurm_check", Path(__file__).parent / "slurm" / "check.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)

LOG = """
[Mon Nov 23 00:17:08 2026]
rule prepare:
    output: results/data/digits/meta.json
    jobid: 3
    wildcards: dataset=digits
    resources: tmpdir=<TBD>, mem_mb=32000, mem=32 GB, slurm_partition=cpu, runtime=240
Job 3 has been submitted with SLURM jobid 1 (log: x/1.log).
Trying to restart job 3.
rule prepare:
    jobid: 3
    resources: tmpdir=<TBD>, mem_mb=64000, mem=64 GB, slurm_partition=cpu, runtime=480
Job 3 has been submitted with SLURM jobid 4 (log: x/4.log).
rule finetune:
    jobid: 7
    resources: tmpdir=<TBD>, mem_mb=32000, slurm_partition=gpu, runtime=480, gpu=1
Job 7 has been submitted with SLURM jobid 5 (log: x/5.log).
localrule all:
    jobid: 0
"""


def test_jobs_and_their_slurm_submissions_are_read_from_the_log():
    jobs = check.planned_jobs(LOG)
    assert {jobid: (job["rule"], job["local"]) for jobid, job in jobs.items()} == {
        "3": ("prepare", False), "7": ("finetune", False), "0": ("all", True)}
    assert jobs["7"]["resources"]["gpu"] == "1" and "gpu" not in jobs["3"]["resources"]
    assert jobs["3"]["resources"]["mem_mb"] == "64000"  # the retry's block comes last
    assert check.submissions(LOG) == {"3": ["1", "4"], "7": ["5"]}


def test_sacct_memory_in_mb():
    assert check.memory_mb("32000M") == 32000
    assert check.memory_mb("62.50G") == 64000
    assert check.memory_mb("4000Mn") == 4000
    assert check.memory_mb("1T") == 1024**2



def test_result_tables_compare_byte_for_byte_and_timing_tables_apart(tmp_path):
    for run, seconds, value in (("a", "1.5", "0.25"), ("b", "9.0", "0.250")):
        results = tmp_path / run / "results"
        (results / "tables" / "timing" / "smug").mkdir(parents=True)
        (results / "tables" / "timing" / "smug" / "d.csv").write_text(f"input,seconds\n0,{seconds}\n")
        (results / "tables" / "e2.csv").write_text(f"sample,radius\n0,{value}\n")
        (results / "logs").mkdir()
        (results / "logs" / "x.log").write_text(run)
    files = check.compared_files(tmp_path / "a")
    assert files == {Path("tables/e2.csv")}
    assert check.timing_files(tmp_path / "a") == check.timing_files(tmp_path / "b") == {Path("tables/timing/smug/d.csv")}
    # the same number written differently is a different table: results must match byte for byte
    assert not check.same_output(tmp_path / "a" / "results" / "tables/e2.csv", tmp_path / "b" / "results" / "tables/e2.csv")

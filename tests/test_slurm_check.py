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


"""Checks of the tiny config run through the SLURM profile (called by tests/slurm/run.sh):
every job ran as a SLURM job, GPU rules were granted exactly one GPU and CPU rules none, a job
that failed for memory was retried with more and completed, and the outputs equal a local run.

    python tests/slurm/check.py LOCAL_RUN_DIR SLURM_RUN_DIR REPO_ROOT
"""

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import yaml

NOT_COMPARED = {"logs", "benchmarks", "report.html"}  # timings and host names differ
TIMING = "tables/timing"  # wall-clock seconds of training epochs and SMUG solves: present, not compared
WALL_CLOCK_FIGURES = {"figures/smug_solver_time.png"}  # plots solver seconds, which differ run to run


def planned_jobs(log: str) -> dict[str, dict]:
    """Snakemake jobid -> rule, local or not, and resources, from the run's log."""
    jobs, block = {}, None
    for line in log.splitlines():
        if m := re.match(r"(local)?rule (\w+):$", line):
            block = {"rule": m[2], "local": bool(m[1]), "resources": {}}
        elif block and (m := re.match(r"\s+jobid: (\d+)$", line)):
            jobs[m[1]] = block
        elif block and (m := re.match(r"\s+resources: (.*)$", line)):
            block["resources"] = dict(item.split("=", 1) for item in m[1].split(", "))
    return jobs


def submissions(log: str) -> dict[str, list[str]]:
    """Snakemake jobid -> its SLURM job ids, in submission order (retries add more)."""
    out = defaultdict(list)
    for jobid, slurm_id in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log):
        out[jobid].append(slurm_id)
    return out


def accounting(slurm_ids: list[str]) -> dict[str, dict]:
    """What slurmdbd recorded for these SLURM jobs."""
    fields = ["JobIDRaw", "State", "Partition", "AllocTRES", "ReqMem", "Comment", "Account"]
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-j", ",".join(slurm_ids), "-o", ",".join(fields)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    records = [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line]
    return {record["JobIDRaw"]: record for record in records}


def memory_mb(req_mem: str) -> int:
    """sacct's ReqMem (32000M, 62.50G; older SLURM adds n for per node) in MB."""
    value, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)n?", req_mem).groups()
    return round(float(value) * {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024**2}[unit])


def same_output(a: Path, b: Path) -> bool:
    """Equal bytes (every result table), or, for checkpoints and tensors, equal content."""
    if a.read_bytes() == b.read_bytes():
        return True
    if a.suffix == ".pt":
        import torch

        return same_content(*(torch.load(path, map_location="cpu", weights_only=False) for path in (a, b)))
    return False


def same_content(a, b) -> bool:
    import torch

    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(same_content(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_content(x, y) for x, y in zip(a, b))
    if torch.is_tensor(a) and torch.is_tensor(b):
        return a.dtype == b.dtype and torch.equal(a, b)
    return type(a) is type(b) and a == b


def compared_files(run_dir: Path) -> set[Path]:
    results = run_dir / "results"
    return {
        path.relative_to(results)
        for path in results.rglob("*")
        if path.is_file() and path.relative_to(results).parts[0] not in NOT_COMPARED
        and path.relative_to(results).as_posix() not in WALL_CLOCK_FIGURES
        and not path.relative_to(results).as_posix().startswith(TIMING)
    }


def timing_files(run_dir: Path) -> set[Path]:
    return {path.relative_to(run_dir / "results") for path in (run_dir / "results" / TIMING).rglob("*.csv")}


def main(local: Path, slurm: Path, root: Path) -> list[str]:
    errors = []
    log = (slurm / "run.log").read_text()
    config = yaml.safe_load((slurm / "tiny.yaml").read_text())
    profile = yaml.safe_load((root / "profiles/slurm/config.yaml").read_text())
    jobs, submitted = planned_jobs(log), submissions(log)
    cluster_jobs = {jobid: job for jobid, job in jobs.items() if not job["local"]}
    local_rules = {job["rule"] for job in jobs.values() if job["local"]}
    if local_rules - {"all"}:
        errors.append(f"jobs ran on the submitting host, not in SLURM: {sorted(local_rules - {'all'})}")
    missing = sorted(job["rule"] for jobid, job in cluster_jobs.items() if jobid not in submitted)
    if missing:
        errors.append(f"jobs never submitted to SLURM: {missing}")
    records = accounting([slurm_id for ids in submitted.values() for slurm_id in ids])

    gpu_rules = {job["rule"] for job in cluster_jobs.values() if job["resources"].get("gpu") == "1"}
    retried_rules = set(config.get("test_min_mem_mb", {}))
    retries = 0
    for jobid, slurm_ids in submitted.items():
        rule = cluster_jobs[jobid]["rule"]
        attempts = [records.get(slurm_id) for slurm_id in slurm_ids]
        if None in attempts:
            errors.append(f"{rule}: SLURM jobs {slurm_ids} not all in the accounting")
            continue
        for record in attempts:
            if not record["Comment"].startswith(f"rule_{rule}"):
                errors.append(f"{rule}: SLURM job {record['JobIDRaw']} has comment {record['Comment']!r}")
            gpus = re.findall(r"gres/gpu=(\d+)", record["AllocTRES"])
            expected_gpus = ["1"] if rule in gpu_rules else []
            if gpus != expected_gpus:
                errors.append(f"{rule}: SLURM job {record['JobIDRaw']} was granted GPUs {gpus}, "
                              f"expected {expected_gpus} ({record['AllocTRES']})")
            partition = profile["set-resources"].get(rule, {}).get(
                "slurm_partition", profile["default-resources"]["slurm_partition"])
            if record["Partition"] != partition:
                errors.append(f"{rule}: ran in partition {record['Partition']}, the profile says {partition}")
        states = [record["State"] for record in attempts]
        if states[-1] != "COMPLETED":
            errors.append(f"{rule}: last SLURM state {states[-1]}")
        if rule in retried_rules:
            memory = [memory_mb(record["ReqMem"]) for record in attempts]
            if states[:-1] != ["FAILED"] * (len(states) - 1) or len(states) < 2 or memory != sorted(set(memory)):
                errors.append(f"{rule}: expected failures then success with growing memory, got {states} {memory}")
            retries += len(states) - 1
        elif len(states) != 1:
            errors.append(f"{rule}: unexpected resubmissions {states}")
    if retried_rules and not retries:
        errors.append(f"no job of {sorted(retried_rules)} was retried")
    print(f"{len(submitted)} pipeline jobs ran as {len(records)} SLURM jobs ({retries} retried for memory);"
          f" GPU rules {sorted(gpu_rules)}; all accounted to {sorted({r['Account'] for r in records.values()})}")

    local_files, slurm_files = compared_files(local), compared_files(slurm)
    if local_files != slurm_files:
        errors.append(f"different outputs: only local {sorted(local_files - slurm_files)[:5]}, "
                      f"only SLURM {sorted(slurm_files - local_files)[:5]}")
    differing = [str(path) for path in sorted(local_files & slurm_files)
                 if not same_output(local / "results" / path, slurm / "results" / path)]
    if differing:
        errors.append(f"outputs differ from the local run: {differing}")
    print(f"{len(local_files & slurm_files)} output files compared with the local run"
          " (tables byte for byte, checkpoints by content); wall-clock timing tables apart")
    if timing_files(local) != timing_files(slurm) or not timing_files(local):
        errors.append("the timing tables of the two runs differ in which files they are, or are missing")
    return errors


if __name__ == "__main__":
    problems = main(*map(Path, sys.argv[1:4]))
    for problem in problems:
        print("FAIL:", problem)
    sys.exit(1 if problems else 0)

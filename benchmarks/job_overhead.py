"""Per rule of a finished run: jobs, core-seconds, wall seconds and the fixed cost per job (from
the process's start to the end of its imports and loading), read from ``results/benchmarks``
(Snakemake's benchmark files) and the job logs (the ``started:`` / ``ready:`` / ``finished:``
lines that ``attrib.runtime`` writes). Core-seconds are the CPU time a job logs at exit; only
where it logged none, the benchmark's ``cpu_time``, which Snakemake samples every 30 s after a
job's first 15 s and so undercounts.

    python benchmarks/job_overhead.py [results] [--before OTHER_RESULTS]

With ``--before``, one table of both runs side by side (jobs, core-seconds, mean fixed cost per
job), rules in the order of their core-seconds before; figure jobs count as one row.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

PHASE = re.compile(r"(started|ready): ([0-9.]+) s after the process began")
CPU = re.compile(r"finished: [0-9.]+ s after the process began, ([0-9.]+) CPU s")


def fixed_cost(log: Path) -> float | None:
    """Seconds from process start to its last ``ready:`` line (else ``started:``), if logged."""
    if not log.exists():
        return None
    phases = dict(m.groups() for m in PHASE.finditer(log.read_text(errors="replace")))
    value = phases.get("ready", phases.get("started"))
    return None if value is None else float(value)


def logged_cpu(log: Path) -> float | None:
    """The CPU seconds a job logged at exit (``attrib.runtime.log_cpu_time``), if it did."""
    found = CPU.findall(log.read_text(errors="replace")) if log.exists() else []
    return float(found[-1]) if found else None


def job_table(results: Path) -> pd.DataFrame:
    rows = []
    for bench in sorted((results / "benchmarks").rglob("*.tsv")):
        relative = bench.relative_to(results / "benchmarks")
        measured = pd.read_csv(bench, sep="\t").iloc[-1]
        rule = relative.parts[0] if len(relative.parts) > 1 else relative.stem  # summary.tsv has no folder
        group = rule if rule != "figures" else f"figure_{relative.stem}"
        log = results / "logs" / relative.with_suffix(".log")
        cpu = logged_cpu(log)
        rows.append({"rule": group, "job": str(relative.with_suffix("")), "wall_s": float(measured["s"]),
                     "core_s": float(measured["cpu_time"]) if cpu is None else cpu, "fixed_s": fixed_cost(log)})
    return pd.DataFrame(rows)


def rule_table(jobs: pd.DataFrame) -> pd.DataFrame:
    table = jobs.groupby("rule").agg(jobs=("job", "size"), core_s=("core_s", "sum"), wall_s=("wall_s", "sum"),
                                     fixed_s_mean=("fixed_s", "mean"), fixed_s_max=("fixed_s", "max"))
    return table.sort_values("core_s", ascending=False).round(1)


def comparison(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Per rule (figure jobs together): jobs, job-seconds (each job's wall time, summed: the
    benchmark's CPU time undercounts, and one-thread jobs on as many cores as jobs use a core for
    their wall time) and mean fixed cost, before and after."""
    def per_rule(jobs):
        jobs = jobs.assign(rule=jobs["rule"].where(~jobs["rule"].str.startswith("figure_"), "figures (all)"))
        return jobs.groupby("rule").agg(jobs=("job", "size"), job_s=("wall_s", "sum"), fixed_s=("fixed_s", "mean"))
    table = per_rule(before).merge(per_rule(after), left_index=True, right_index=True, how="outer",
                                   suffixes=("_before", "_after"))
    table = table.sort_values("job_s_before", ascending=False)
    table.loc["total"] = [len(before), before["wall_s"].sum(), before["fixed_s"].mean(),
                          len(after), after["wall_s"].sum(), after["fixed_s"].mean()]
    return table.round(1)


def markdown(table: pd.DataFrame) -> str:
    return table.to_markdown() if hasattr(table, "to_markdown") else table.to_string()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results")
    parser.add_argument("--before", help="the results/ of an earlier run, for a side-by-side table")
    args = parser.parse_args()
    jobs = job_table(Path(args.results))
    if args.before:
        print(markdown(comparison(job_table(Path(args.before)), jobs)))
    else:
        print(markdown(rule_table(jobs)))
        print(f"\n{len(jobs)} jobs, {jobs['core_s'].sum():.0f} core-s, fixed cost per job: mean "
              f"{jobs['fixed_s'].mean():.2f} s, max {jobs['fixed_s'].max():.2f} s")

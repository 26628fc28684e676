"""Per rule of a finished run: jobs, core-seconds, wall seconds and the fixed cost per job (from
the process's start to the end of its imports and loading), read from ``results/benchmarks``
(Snakemake's benchmark files) and the job logs (the ``started:`` / ``ready:`` lines that
``attrib.runtime`` writes).

    python benchmarks/job_overhead.py [results]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

PHASE = re.compile(r"(started|ready): ([0-9.]+) s after the process began")


def fixed_cost(log: Path) -> float | None:
    """Seconds from process start to its last ``ready:`` line (else ``started:``), if logged."""
    if not log.exists():
        return None
    phases = dict(m.groups() for m in PHASE.finditer(log.read_text(errors="replace")))
    value = phases.get("ready", phases.get("started"))
    return None if value is None else float(value)


def job_table(results: Path) -> pd.DataFrame:
    rows = []
    for bench in sorted((results / "benchmarks").rglob("*.tsv")):
        relative = bench.relative_to(results / "benchmarks")
        measured = pd.read_csv(bench, sep="\t").iloc[-1]
        group = relative.parts[0] if relative.parts[0] != "figures" else f"figure_{relative.stem}"
        rows.append({"rule": group, "job": str(relative.with_suffix("")), "wall_s": float(measured["s"]),
                     "core_s": float(measured["cpu_time"]),
                     "fixed_s": fixed_cost(results / "logs" / relative.with_suffix(".log"))})
    return pd.DataFrame(rows)


def rule_table(jobs: pd.DataFrame) -> pd.DataFrame:
    table = jobs.groupby("rule").agg(jobs=("job", "size"), core_s=("core_s", "sum"), wall_s=("wall_s", "sum"),
                                     fixed_s_mean=("fixed_s", "mean"), fixed_s_max=("fixed_s", "max"))
    return table.sort_values("core_s", ascending=False).round(1)


if __name__ == "__main__":
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    jobs = job_table(results)
    table = rule_table(jobs)
    print(table.to_markdown() if hasattr(table, "to_markdown") else table.to_string())
    print(f"\n{len(jobs)} jobs, {jobs['core_s'].sum():.0f} core-s, fixed cost per job: mean "
          f"{jobs['fixed_s'].mean():.2f} s, max {jobs['fixed_s'].max():.2f} s")

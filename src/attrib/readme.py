"""The README's result tables, generated from a run's ``results/tables/summary.csv`` so that the
README states only what the run measured (``make summary``).

Each generated block sits between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``;
NAME is a system of the summary (``fine_tuning``, ``mus``, ``attribution``, ``missingness``,
``smug``). The summary is copied to ``docs/results/summary.csv`` beside the README, and a test
regenerates every block from that copy, so the README and the CSV cannot disagree.

    python -m attrib.readme results/tables/summary.csv README.md docs/results/summary.csv
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pandas as pd

BLOCK = re.compile(r"(<!-- results:(\w+) -->\n).*?(<!-- /results:\2 -->)", re.S)
SYSTEMS = {"fine_tuning": "fine-tuning", "mus": "MuS", "attribution": "attribution", "missingness": "missingness",
           "smug": "SMUG"}


def _value(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:.3f}".replace("-", "−")


def render(summary: pd.DataFrame, block: str) -> str:
    """One markdown table of a system's headline numbers: a row per quantity, a column per
    (dataset, model), the number of samples behind each column in its header."""
    if block not in SYSTEMS:
        raise ValueError(f"README block {block!r} names no system; known: {sorted(SYSTEMS)}")
    rows = summary[summary["system"] == SYSTEMS[block]]
    if rows.empty:
        return "(not run)\n"
    rows = rows.assign(column=rows["dataset"] + " / " + rows["model"])
    columns = list(dict.fromkeys(rows["column"]))
    table = rows.pivot_table(index="quantity", columns="column", values="value", aggfunc="first", sort=False)
    counts = rows.groupby("column", sort=False)["n"].max()
    header = [f"{c} (n = {int(counts[c])})" if pd.notna(counts[c]) else c for c in columns]
    lines = ["| quantity | " + " | ".join(header) + " |", "|---|" + "---|" * len(columns)]
    for quantity in dict.fromkeys(rows["quantity"]):
        lines.append(f"| {quantity} | " + " | ".join(_value(table.loc[quantity].get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def update(readme: str, summary: pd.DataFrame) -> str:
    """The README text with every results block regenerated from ``summary``."""
    return BLOCK.sub(lambda m: m.group(1) + render(summary, m.group(2)) + m.group(3), readme)


def main(summary_csv: str, readme: str, snapshot: str) -> None:
    shutil.copyfile(summary_csv, snapshot)
    path = Path(readme)
    path.write_text(update(path.read_text(), pd.read_csv(snapshot)))


if __name__ == "__main__":
    main(*sys.argv[1:4])

"""The README's result tables, generated from a run's ``results/tables/summary.csv`` so that the
README states only what the run measured (``make summary``).

Each generated block sits between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``;
NAME is a system of the summary (``fine_tuning``, ``mus``, ``attribution``, ``missingness``,
``smug``). The summary is copied to ``docs/results/summary.csv`` beside the README, and a test
regenerates every block from that copy, so the README and the CSV cannot disagree.

With the summary of a second run of the same config under another seed (copied to
``docs/results/summary_second_seed.csv``), every table gets a last column: per quantity, the
largest change between the two runs over the table's columns, the variation to read the
numbers against.

    python -m attrib.readme results/tables/summary.csv README.md docs/results/summary.csv \
        [OTHER_RUN/results/tables/summary.csv docs/results/summary_second_seed.csv]
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


def _pivot(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.pivot_table(index="quantity", columns="column", values="value", aggfunc="first", sort=False)


def render(summary: pd.DataFrame, block: str, second: pd.DataFrame | None = None) -> str:
    """One markdown table of a system's headline numbers: a row per quantity, a column per
    (dataset, model), the number of samples behind each column in its header; with ``second``
    (another seed's summary), a last column of the largest |change| per quantity."""
    if block not in SYSTEMS:
        raise ValueError(f"README block {block!r} names no system; known: {sorted(SYSTEMS)}")
    rows = summary[summary["system"] == SYSTEMS[block]]
    if rows.empty:
        return "(not run)\n"
    rows = rows.assign(column=rows["dataset"] + " / " + rows["model"])
    columns = list(dict.fromkeys(rows["column"]))
    table = _pivot(rows)
    counts = rows.groupby("column", sort=False)["n"].max()
    header = [f"{c} (n = {int(counts[c])})" if pd.notna(counts[c]) else c for c in columns]
    change = None
    if second is not None:
        other = second[second["system"] == SYSTEMS[block]]
        other = _pivot(other.assign(column=other["dataset"] + " / " + other["model"]))
        change = (table - other.reindex_like(table)).abs().max(axis=1, skipna=True)
        header.append("largest change, second seed")
    lines = ["| quantity | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    for quantity in dict.fromkeys(rows["quantity"]):
        cells = [_value(table.loc[quantity].get(c)) for c in columns]
        if change is not None:
            cells.append(_value(change.get(quantity)))
        lines.append(f"| {quantity} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def update(readme: str, summary: pd.DataFrame, second: pd.DataFrame | None = None) -> str:
    """The README text with every results block regenerated from ``summary`` (and ``second``)."""
    return BLOCK.sub(lambda m: m.group(1) + render(summary, m.group(2), second) + m.group(3), readme)


def main(summary_csv: str, readme: str, snapshot: str, second_csv: str | None = None,
         second_snapshot: str | None = None) -> None:
    shutil.copyfile(summary_csv, snapshot)
    second = None
    if second_csv:
        if not second_snapshot:
            raise SystemExit("a second run's summary needs the path of its copy beside the README")
        shutil.copyfile(second_csv, second_snapshot)
        second = pd.read_csv(second_snapshot)
    path = Path(readme)
    path.write_text(update(path.read_text(), pd.read_csv(snapshot), second))


if __name__ == "__main__":
    main(*sys.argv[1:6])

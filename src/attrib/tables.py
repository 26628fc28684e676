"""Tidy result tables: every per-job table starts with the columns that say where it came from."""

from __future__ import annotations

import pandas as pd


def labelled(table: pd.DataFrame, **labels) -> pd.DataFrame:
    """``table`` with one constant column per label, in the given order, before its own columns."""
    for key, value in reversed(labels.items()):
        table.insert(0, key, value)
    return table

"""Seeded, class-stratified train/val/test splits of data that comes as one pool (an image
folder, a text file), so that every split holds each class in about its share."""

from __future__ import annotations

import numpy as np

SPLIT_NAMES = ("train", "val", "test")


def stratified_split(
    labels: np.ndarray, fractions, rng: np.random.Generator, names: tuple[str, ...] = SPLIT_NAMES
) -> list[np.ndarray]:
    """Disjoint, shuffled index arrays, one per name; per class a seeded permutation is cut at
    ⌊cumulative fraction · n + ½⌋ (halves round up). ValueError naming the option when the fractions are not
    one per split summing to 1, or leave a split empty."""
    fractions = [float(f) for f in fractions]
    if len(fractions) != len(names) or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"option split_fractions: expected {len(names)} fractions ({', '.join(names)}) summing "
                         f"to 1, got {fractions}")
    parts: list[list[np.ndarray]] = [[] for _ in names]
    bounds = np.cumsum(fractions)[:-1]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        for part, chunk in zip(parts, np.split(idx, np.floor(bounds * idx.size + 0.5).astype(int))):
            part.append(chunk)
    out = [rng.permutation(np.concatenate(p)) for p in parts]
    empty = [name for name, part in zip(names, out) if part.size == 0]
    if empty:
        raise ValueError(f"option split_fractions {fractions} leaves the {' and '.join(empty)} split(s) empty "
                         f"({labels.size} items in all)")
    return out

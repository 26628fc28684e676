"""Merging the parts that the shards of one heavy job wrote (``shards:`` in the config) into
the file that the unsharded job would have written: tables row after row, tensors along the
first dimension. Every part holds its rows with their evaluation-set indices already."""

from __future__ import annotations

from pathlib import Path

import torch

from attrib.runtime import atomic_save, atomic_write_text, load_torch_file


def merge_tables(parts: list[str | Path], out: str | Path) -> None:
    """CSV parts with one header -> one CSV: the header once, then every part's rows in order
    (the bytes as written, so one part gives its file unchanged)."""
    if not parts:
        raise ValueError(f"{out}: no parts to merge")
    header, bodies = None, []
    for part in parts:
        text = Path(part).read_text(encoding="utf-8")
        first, _, body = text.partition("\n")
        if header is None:
            header = first
        elif first != header:
            raise ValueError(f"{part}: its columns ({first}) differ from the first part's ({header}); "
                             "the shards come from different code or configs: rerun them")
        bodies.append(body)
    atomic_write_text(out, header + "\n" + "".join(bodies))


def merge_tensors(parts: list[str | Path], out: str | Path) -> dict:
    """``torch.save``d dict parts -> one dict: tensors concatenated along dim 0 and lists (per-input
    values such as SMUG's solver status) one after the other; everything else (method, options,
    None) equal in every part and kept once. Returns the merged dict."""
    if not parts:
        raise ValueError(f"{out}: no parts to merge")
    loaded = [load_torch_file(part, what="shard part", keys=(), remedy="rerun its shard job", mmap=True)
              for part in parts]
    differ = [str(part) for part, data in zip(parts, loaded) if set(data) != set(loaded[0])]
    if differ:
        raise ValueError(f"{out}: parts {differ} hold other keys than {parts[0]} ({sorted(loaded[0])})")
    merged = {}
    for key, first in loaded[0].items():
        values = [part[key] for part in loaded]
        if torch.is_tensor(first):
            merged[key] = torch.cat(values)
        elif isinstance(first, list):
            merged[key] = [item for value in values for item in value]
        elif any(value != first for value in values[1:]):
            raise ValueError(f"{out}: the parts disagree on {key!r}; the shards come from different configs: rerun them")
        else:
            merged[key] = first
    atomic_save(merged, out)
    return merged


def merge(parts: list[str | Path], out: str | Path) -> None:
    """By the output's suffix: ``.csv`` tables, else torch files."""
    if Path(out).suffix == ".csv":
        merge_tables(parts, out)
    else:
        merge_tensors(parts, out)

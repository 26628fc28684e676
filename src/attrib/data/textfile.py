"""`csv` and `jsonl`: the user's own labelled texts, one per row (csv, with a header) or per
line (jsonl, one JSON object each), tokenised with the tokenizer of the model the dataset names
(or its first model that has one).

``path`` is one file, split per class by ``split_fractions`` with the seed, or a folder with
train.<ext>, val.<ext> and, optionally, test.<ext> (without it val is halved per class).
``text_column`` and ``label_column`` name the fields. Labels are class names or class indices:
``labels`` lists the class names in index order; without it, integer labels 0..K-1 are their
own classes and text labels are sorted. ``n_train``, ``n_val``, ``n_test`` take a seeded
subset of a split (absent: all of it). Errors name the file, the row and the option.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from attrib.data.split import SPLIT_NAMES, stratified_split
from attrib.data.text import encode, load_tokenizer, text_meta

INTEGER = re.compile(r"-?[0-9]+")
FIRST_LINE = {"csv": 2, "jsonl": 1}  # the line of the first record (csv: after the header)


def _read(path: Path, fmt: str) -> pd.DataFrame:
    """The file's records, every field as a string."""
    try:
        if fmt == "csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        return pd.read_json(path, lines=True, dtype=False).astype(str)
    except ValueError as e:  # pandas' parser errors are ValueErrors
        raise ValueError(f"{path}: not a readable {fmt} file ({type(e).__name__}: {e})") from e


def _records(path: Path, fmt: str, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    if not path.is_file():
        raise FileNotFoundError(f"option path: {fmt} file not found: {path}")
    frame, first_line = _read(path, fmt), FIRST_LINE[fmt]
    for option, column in (("text_column", text_column), ("label_column", label_column)):
        if column not in frame.columns:
            raise ValueError(f"{path}: no field {column!r} (option {option}); fields: {list(frame.columns)}")
    texts = [t.strip() for t in frame[text_column]]
    labels = [v.strip() for v in frame[label_column]]
    for what, values in (("text", texts), ("label", labels)):
        empty = [i for i, v in enumerate(values) if v in ("", "nan", "None")]
        if empty:
            raise ValueError(f"{path}: line {empty[0] + first_line} has no {what} ({len(empty)} such lines)")
    return texts, labels


def _classes(labels: list[str], names: list[str] | None) -> list[str]:
    """Class names in index order: ``names``, else 0..K-1 for integer labels, else sorted."""
    if names is not None:
        return [str(n) for n in names]
    if all(INTEGER.fullmatch(v) for v in labels):
        return [str(i) for i in range(max(int(v) for v in labels) + 1)]
    return sorted(set(labels))


def _indices(labels: list[str], classes: list[str], path: Path, first_line: int) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    out = []
    for row, value in enumerate(labels):
        if value in index:
            out.append(index[value])
        elif INTEGER.fullmatch(value) and 0 <= int(value) < len(classes):
            out.append(int(value))
        else:
            raise ValueError(f"{path}: line {row + first_line}: label {value!r} is neither one of the classes "
                             f"{classes} (option labels) nor an index into them")
    return np.array(out, dtype=np.int64)


def _build(fmt: str, *, seed: int, tokenizer_dir: str, path: str, text_column: str, label_column: str,
           labels: list[str] | None, split_fractions, n_train, n_val, n_test, max_length: int):
    base = Path(path).expanduser()
    files = {"all": base}
    if base.is_dir():
        files = {name: base / f"{name}.{fmt}" for name in SPLIT_NAMES if (base / f"{name}.{fmt}").is_file()}
        if "train" not in files or "val" not in files:
            raise FileNotFoundError(f"option path: folder {base} needs train.{fmt} and val.{fmt} (and optionally "
                                    f"test.{fmt}), or name one {fmt} file to split by split_fractions")
    read = {name: _records(file, fmt, text_column, label_column) for name, file in files.items()}
    classes = _classes([v for _, values in read.values() for v in values], labels)
    data = {name: (texts, _indices(values, classes, files[name], FIRST_LINE[fmt]))
            for name, (texts, values) in read.items()}
    rng = np.random.default_rng(seed)
    if "all" in data:
        texts, y = data.pop("all")
        data = {name: (texts, y) for name in SPLIT_NAMES}
        orders = dict(zip(SPLIT_NAMES, stratified_split(y, split_fractions, rng)))
    else:
        orders = {name: rng.permutation(len(y)) for name, (_, y) in data.items()}
        if "test" not in data:  # val halved per class: val and test
            data["test"] = data["val"]
            orders["val"], orders["test"] = stratified_split(data["val"][1], (0.5, 0.5), rng, names=("val", "test"))
    tokenizer = load_tokenizer(tokenizer_dir)
    splits = {}
    for name, n in zip(SPLIT_NAMES, (n_train, n_val, n_test)):
        texts, y = data[name]
        if n is not None and n > len(orders[name]):
            raise ValueError(f"{base}: the {name} split has {len(orders[name])} texts, fewer than n_{name} = {n}")
        chosen = orders[name][:n]
        splits[name] = {"ids": encode(tokenizer, [texts[i] for i in chosen], max_length),
                        "y": torch.from_numpy(y[chosen]), "text": [texts[i] for i in chosen]}
    return splits, text_meta(tokenizer, tokenizer_dir, max_length, classes)


def build_csv(
    *,
    seed: int,
    tokenizer_dir: str,
    path: str,
    text_column: str = "text",
    label_column: str = "label",
    labels: list[str] | None = None,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    max_length: int = 64,
) -> tuple[dict[str, dict], dict]:
    """Labelled texts from a csv file with a header (or a folder of train/val/test files)."""
    return _build("csv", seed=seed, tokenizer_dir=tokenizer_dir, path=path, text_column=text_column,
                  label_column=label_column, labels=labels, split_fractions=split_fractions, n_train=n_train,
                  n_val=n_val, n_test=n_test, max_length=max_length)


def build_jsonl(
    *,
    seed: int,
    tokenizer_dir: str,
    path: str,
    text_column: str = "text",
    label_column: str = "label",
    labels: list[str] | None = None,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    max_length: int = 64,
) -> tuple[dict[str, dict], dict]:
    """Labelled texts from a JSON-lines file (or a folder of train/val/test files)."""
    return _build("jsonl", seed=seed, tokenizer_dir=tokenizer_dir, path=path, text_column=text_column,
                  label_column=label_column, labels=labels, split_fractions=split_fractions, n_train=n_train,
                  n_val=n_val, n_test=n_test, max_length=max_length)

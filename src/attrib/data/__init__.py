"""Datasets as plain tensor files so every later stage reads the same frozen samples.

``build_dataset`` runs a registered builder and writes ``train.pt``, ``val.pt``, ``test.pt``
(``torch.save`` of dicts, see docs/INTERFACES.md) and ``meta.json``, each atomically (a killed
job leaves no torn file, and the next write sweeps its temporary files). A builder is a function
``builder(*, seed, <options>) -> (splits, meta)``; its keyword parameters *are* its options,
so a misspelt or missing option in the config fails here, before any work is done. Each
source's modality and options are in ``attrib.catalogue.DATASETS`` (read without torch);
``build_dataset`` writes that modality into the meta.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any, Callable

import torch

from attrib import catalogue
from attrib.runtime import atomic_save, atomic_write_text, load_torch_file

SPLITS = ("train", "val", "test")
META_KEYS = ("modality", "num_classes", "sizes")
REMEDY = "(re)run the data stage, rule prepare, for this dataset"


class LazyBuilder:
    """A registry entry that imports its module on first use: jobs that only read prepared
    data then skip scikit-image, scikit-learn and transformers at start-up."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def load(self) -> Callable[..., tuple[dict[str, dict], dict]]:
        return getattr(importlib.import_module(self.module), self.name)

    def __call__(self, **kwargs):
        return self.load()(**kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.load())


DATASETS: dict[str, LazyBuilder] = {
    "digits": LazyBuilder("attrib.data.digits", "build"),
    "tweets": LazyBuilder("attrib.data.text", "build_tweets"),
    "tweeteval": LazyBuilder("attrib.data.text", "build_tweeteval"),
    "imagenet": LazyBuilder("attrib.data.imagenet", "build"),
    "imagefolder": LazyBuilder("attrib.data.imagefolder", "build"),
    "csv": LazyBuilder("attrib.data.textfile", "build_csv"),
    "jsonl": LazyBuilder("attrib.data.textfile", "build_jsonl"),
}

def _call_builder(source: str, options: dict[str, Any], seed: int, tokenizer_dir) -> tuple[dict, dict]:
    """Check options against the builder's signature so config errors name the dataset."""
    if source not in DATASETS:
        raise ValueError(f"unknown dataset source {source!r}; known: {sorted(DATASETS)}")
    builder = DATASETS[source]
    signature = inspect.signature(builder).parameters
    params = {k: p for k, p in signature.items() if k not in ("seed", "tokenizer_dir")}
    unknown = sorted(set(options) - set(params))
    missing = sorted(k for k, p in params.items() if p.default is inspect.Parameter.empty and k not in options)
    if unknown or missing:
        raise ValueError(
            f"dataset {source!r}: unknown options {unknown}, missing options {missing}; "
            f"accepted options: {sorted(params)}"
        )
    kwargs = dict(options)
    if "tokenizer_dir" in signature:
        if tokenizer_dir is None:
            raise ValueError(f"dataset {source!r} is text and needs tokenizer_dir (the model's tokenizer)")
        kwargs["tokenizer_dir"] = str(tokenizer_dir)
    return builder(seed=seed, **kwargs)


def build_dataset(
    source: str,
    options: dict[str, Any],
    out_dir: str | Path,
    *,
    seed: int,
    tokenizer_dir: str | Path | None = None,
) -> dict:
    """Build ``source`` with ``options`` and write it to ``out_dir``; returns the meta dict."""
    splits, meta = _call_builder(source, dict(options or {}), seed, tokenizer_dir)
    sizes = {name: len(splits[name]["y"]) for name in SPLITS}
    meta = {**meta, "modality": catalogue.source_modality(source), "source": source, "seed": seed,
            "options": dict(options or {}), "sizes": sizes}
    if meta["modality"] == "image":
        # The `mean` removal mode fills with the training colour; fall back to all stored images
        # when a paper-scale run stores no training split.
        pool = [splits[n]["x"] for n in (("train",) if sizes["train"] else SPLITS)]
        meta["mean"] = mean_colour(pool)
    out = Path(out_dir)
    for name in SPLITS:
        atomic_save(splits[name], out / f"{name}.pt")
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=2))
    return meta


def mean_colour(pool: list[torch.Tensor], chunk: int = 256) -> list[float]:
    """Per-channel mean in [0, 1] of uint8 images (N, 3, H, W) in several tensors, as a running
    sum over ``chunk`` images at a time: exact integer sums, memory of one chunk in int64."""
    total, count = torch.zeros(3, dtype=torch.int64), 0
    for images in pool:
        for a in range(0, len(images), chunk):
            block = images[a:a + chunk]
            total += block.sum(dim=(0, 2, 3), dtype=torch.int64)
            count += block.shape[0] * block.shape[2] * block.shape[3]
    return [float(v) / count / 255 for v in total.tolist()]


def load_meta(directory: str | Path) -> dict:
    """meta.json of a prepared dataset; a missing, damaged or foreign file names itself."""
    path = Path(directory) / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(f"dataset meta file not found: {path} (run the data stage first)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable dataset meta file ({e}); {REMEDY}") from e
    missing = [key for key in META_KEYS if key not in meta] if isinstance(meta, dict) else list(META_KEYS)
    if missing:
        raise ValueError(f"{path}: not a dataset meta file, it lacks {missing}; {REMEDY}")
    return meta


def load_split(directory: str | Path, split: str, mmap: bool = False) -> dict:
    """One split's tensors (``y`` and images ``x`` or token ids ``ids``); a missing, damaged or
    foreign file raises an error naming it. ``mmap``: memory-mapped, for callers that read a
    few rows of a large split (a shard of the evaluation set, a pool of references)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    path = Path(directory) / f"{split}.pt"
    data = load_torch_file(path, what="dataset split file", keys=("y",), remedy=REMEDY, mmap=mmap)
    if "x" not in data and "ids" not in data:
        raise ValueError(f"{path}: not a dataset split file, it holds neither images 'x' nor token ids 'ids'; {REMEDY}")
    return data


def images_as_float(split: dict) -> torch.Tensor:
    """uint8 (N,3,H,W) as stored -> float32 in [0, 1], the models' input convention."""
    return split["x"].float().div_(255)

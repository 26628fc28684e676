"""The evaluation subset: the first ``eval_size`` test inputs (the builders shuffle the test
split), or one shard of them, rows ``start`` to ``stop``. The split is memory-mapped and only
the rows returned are read and converted to float."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from attrib.data import images_as_float, load_meta, load_split


@dataclass
class EvalSet:
    inputs: torch.Tensor  # float images in [0, 1] or token ids
    labels: torch.Tensor
    meta: dict
    masks: torch.Tensor | None = None  # ground-truth digit pixels, where the dataset has them
    texts: list[str] | None = None
    start: int = 0  # the evaluation-set index of inputs[0]


def load_eval_set(data_dir: str | Path, eval_size: int, start: int = 0) -> EvalSet:
    """Rows ``start`` to ``eval_size`` (exclusive) of the test split, at most its length."""
    meta = load_meta(data_dir)
    split = load_split(data_dir, "test", mmap=True)
    stop = min(eval_size, len(split["y"]))
    if not 0 <= start < stop:
        raise ValueError(f"{data_dir}: rows {start}..{stop} of the test split ({len(split['y'])} inputs) are empty")
    rows = slice(start, stop)
    labels = split["y"][rows].clone()
    if meta["modality"] == "image":
        mask = split.get("mask")
        masks = None if mask is None else mask[rows].clone()
        return EvalSet(images_as_float({"x": split["x"][rows]}), labels, meta, masks, start=start)
    return EvalSet(split["ids"][rows].clone(), labels, meta, texts=list(split["text"][rows]), start=start)


def load_model_and_eval_set(checkpoint: str | Path, data_dir: str | Path, eval_size: int, device, start: int = 0):
    """What every evaluation step starts from: the model and its inputs, on ``device``."""
    from attrib.models import load_checkpoint

    evalset = load_eval_set(data_dir, eval_size, start)
    model, _ = load_checkpoint(checkpoint)
    evalset.inputs = evalset.inputs.to(device)
    evalset.labels = evalset.labels.to(device)
    return model.to(device), evalset


def start_evaluation_job(log_path, *, threads: int, seed: int, device: str, checkpoint, data_dir, eval_size: int,
                         start: int = 0):
    """The preamble of every evaluation job: logging, threads and seeds, the device, then the
    model and test inputs ``start`` to ``eval_size`` (a shard; default the first ``eval_size``)
    on it. Returns (log, device, model, evalset)."""
    from attrib.runtime import ready, resolve_device, setup

    log = setup(log_path, threads, seed)
    resolved = resolve_device(device)
    model, evalset = load_model_and_eval_set(checkpoint, data_dir, eval_size, resolved, start)
    ready(log, f"model and {len(evalset.labels)} inputs on {resolved}")
    return log, resolved, model, evalset

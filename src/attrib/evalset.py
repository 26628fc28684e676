"""The evaluation subset: the first ``eval_size`` test inputs (the builders shuffle the test split)."""

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


def load_eval_set(data_dir: str | Path, eval_size: int) -> EvalSet:
    meta = load_meta(data_dir)
    split = load_split(data_dir, "test")
    n = min(eval_size, len(split["y"]))
    if meta["modality"] == "image":
        mask = split.get("mask")
        return EvalSet(images_as_float(split)[:n], split["y"][:n], meta, None if mask is None else mask[:n])
    return EvalSet(split["ids"][:n], split["y"][:n], meta, texts=list(split["text"][:n]))


def load_model_and_eval_set(checkpoint: str | Path, data_dir: str | Path, eval_size: int, device):
    """What every evaluation step starts from: the model and its inputs, on ``device``."""
    from attrib.models import load_checkpoint

    evalset = load_eval_set(data_dir, eval_size)
    model, _ = load_checkpoint(checkpoint)
    evalset.inputs = evalset.inputs.to(device)
    evalset.labels = evalset.labels.to(device)
    return model.to(device), evalset


def start_evaluation_job(log_path, *, threads: int, seed: int, device: str, checkpoint, data_dir, eval_size: int):
    """The preamble of every evaluation job: logging, threads and seeds, the device, then the
    model and the first ``eval_size`` test inputs on it. Returns (log, device, model, evalset)."""
    from attrib.runtime import ready, resolve_device, setup

    log = setup(log_path, threads, seed)
    resolved = resolve_device(device)
    model, evalset = load_model_and_eval_set(checkpoint, data_dir, eval_size, resolved)
    ready(log, f"model and {len(evalset.labels)} inputs on {resolved}")
    return log, resolved, model, evalset

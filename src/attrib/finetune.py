"""Masked fine-tuning (MuS): train base models that still classify with a fraction λ of features.

Every training example is repeated once per masking level ℓ ∈ λ·levels; at level ℓ exactly
round(p_i·ℓ + u), u ~ U(−1, 1), of the example's p_i features are kept, chosen uniformly at
random; the rest go missing in the model's default removal mode. λ = 1 is ordinary training.
Checkpoints every epoch so an interrupted job resumes, but only under the configuration that
wrote the state (schedule, λ, levels, seed, model, initial weights, data): a state left by an
edited config is discarded, never silently continued. The best validation epoch is kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from attrib.runtime import atomic_save, progress_bar

log = logging.getLogger("attrib.finetune")


def random_keep_masks(feature_mask: torch.Tensor, level: float, generator: torch.Generator) -> torch.Tensor:
    """(N, p) binary keep-masks keeping round(p_i·level + u) of each row's real features.

    Positions that are not features (text specials and padding) are returned as 1.
    """
    valid = feature_mask.bool()
    n, p = valid.shape
    counts = valid.sum(dim=1).float()
    u = torch.rand(n, generator=generator) * 2 - 1
    keep_counts = torch.minimum(torch.round(counts * level + u).clamp(min=0), counts)
    scores = torch.rand(n, p, generator=generator)
    scores[~valid] = 2.0  # non-features rank last, never consume the budget
    ranks = scores.argsort(dim=1).argsort(dim=1)
    keep = (ranks < keep_counts.unsqueeze(1)).float()
    keep[~valid] = 1.0
    return keep


@dataclass
class Schedule:
    epochs: int
    lr: float
    batch_size: int
    weight_decay: float = 0.0
    max_steps_per_epoch: int | None = None
    label_smoothing: float = 0.0

    @classmethod
    def from_config(cls, cfg: dict) -> "Schedule":
        return cls(**cfg)


@dataclass
class TrainState:
    """Everything needed to resume: weights, optimiser, scheduler, RNG, history."""

    epoch: int = 0
    best_score: float = -math.inf
    best_state: dict | None = None
    history: list = field(default_factory=list)
    seconds: list = field(default_factory=list)  # wall-clock per epoch, kept out of the history


def tensor_digest(tensors) -> str:
    """sha256 over dtypes, shapes and bytes: identifies data and weights exactly."""
    digest = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def run_config(model, train_data, val_data, *, lam, levels, schedule, seed) -> dict:
    """What a resumable state must have been trained under to be continued."""
    return {
        **dataclasses.asdict(schedule),
        "lam": lam,
        "levels": list(levels),
        "seed": seed,
        "model": getattr(model, "name", type(model).__name__),
        "model_options": getattr(model, "options", None),
        "initial_weights": tensor_digest(model.state_dict().values()),
        "data": tensor_digest([*train_data, *val_data]),
    }


def _resumable(state_path: Path, config: dict) -> dict | None:
    """The saved state if it was written under ``config``; otherwise it is deleted and the log
    says why, so the run starts over."""
    if not state_path.exists():
        return None
    try:
        saved = torch.load(state_path, weights_only=False)
    except Exception as e:  # torch.load raises many types for a damaged file
        why = f"it does not load ({type(e).__name__}: {e})"
    else:
        old = saved.get("config") if isinstance(saved, dict) else None
        if old == config:
            return saved
        if not isinstance(old, dict):
            why = "it records no configuration"
        else:
            differ = sorted(k for k in {*old, *config} if old.get(k) != config.get(k))
            changes = [f"{k}: {old.get(k)!r} -> {config.get(k)!r}" for k in differ]
            why = f"it was trained under another configuration ({'; '.join(changes)})"
    log.warning("ignoring %s: %s; starting over", state_path, why)
    state_path.unlink()
    return None


def masking_levels(lam: float, levels: list[float]) -> list[float]:
    return [1.0] if lam >= 1 else sorted({lam * f for f in levels}, reverse=True)


def _to_device(batch, device):
    return batch.to(device, non_blocking=True)


def _as_input(x: torch.Tensor, modality: str) -> torch.Tensor:
    """Images are stored as uint8; the model sees floats in [0, 1]."""
    if modality == "image" and x.dtype == torch.uint8:
        return x.float() / 255.0
    return x


def masked_batch(model, x, y, levels, generator):
    """Stack the batch once per level with its keep-masks (None where nothing is masked)."""
    if levels == [1.0]:
        return x, y, None
    fmask = model.feature_mask(x).cpu()
    keeps = [random_keep_masks(fmask, lvl, generator) for lvl in levels]
    reps = len(levels)
    return x.repeat(reps, *([1] * (x.dim() - 1))), y.repeat(reps), torch.cat(keeps).to(x.device)


@torch.no_grad()
def evaluate(model, x, y, levels, *, seed, batch_size, device) -> list[dict]:
    """Accuracy and loss per masking level, with masks fixed by ``seed`` (same every epoch)."""
    model.eval()
    rows = []
    for lvl in levels:
        gen = torch.Generator().manual_seed(seed)
        correct, loss_sum = 0, 0.0
        for start in range(0, len(y), batch_size):
            xb = _as_input(_to_device(x[start : start + batch_size], device), model.modality)
            yb = _to_device(y[start : start + batch_size], device)
            keep = None
            if lvl < 1:
                keep = random_keep_masks(model.feature_mask(xb).cpu(), lvl, gen).to(device)
            logits = model(xb, keep=keep)
            loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
        rows.append({"level": lvl, "loss": loss_sum / len(y), "accuracy": correct / len(y)})
    return rows


def train(
    model,
    train_data: tuple[torch.Tensor, torch.Tensor],
    val_data: tuple[torch.Tensor, torch.Tensor],
    *,
    lam: float,
    levels: list[float],
    schedule: Schedule,
    seed: int,
    device: torch.device,
    state_path: str | Path,
    progress: bool = True,
) -> tuple[torch.nn.Module, list[dict], list[float]]:
    """Train ``model`` in place; return it with its best weights, the per-epoch history and
    the wall-clock seconds of each epoch (apart, so histories compare byte for byte).

    ``state_path`` holds the resumable state; it is rewritten after every epoch and resumed
    from only when it was written under the same configuration (``run_config``).
    """
    state_path = Path(state_path)
    lvls = masking_levels(lam, levels)
    config = run_config(model, train_data, val_data, lam=lam, levels=lvls, schedule=schedule, seed=seed)
    model.to(device)
    x_train, y_train = train_data
    x_val, y_val = val_data
    steps_per_epoch = math.ceil(len(y_train) / schedule.batch_size)
    if schedule.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, schedule.max_steps_per_epoch)
    total_steps = max(1, steps_per_epoch * schedule.epochs)
    optimiser = torch.optim.AdamW(model.parameters(), lr=schedule.lr, weight_decay=schedule.weight_decay)
    warmup = max(1, total_steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps)),
    )
    generator = torch.Generator().manual_seed(seed)
    state = TrainState()
    saved = _resumable(state_path, config)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["generator"])
        state = saved["state"]
        log.info("resuming from %s at epoch %d", state_path, state.epoch)

    if state.epoch == 0 and not state.history:
        record = _epoch_record(model, 0, None, x_val, y_val, lvls, seed, schedule, device)
        state.history.append(record)
        state.best_score, state.best_state = record["val_accuracy"], _cpu_state(model)
    for epoch in range(state.epoch + 1, schedule.epochs + 1):
        model.train()
        started = time.perf_counter()
        order = torch.randperm(len(y_train), generator=generator)[: steps_per_epoch * schedule.batch_size]
        loss_sum, seen = 0.0, 0
        bar = progress_bar(range(steps_per_epoch), desc=f"λ={lam:g} epoch {epoch}/{schedule.epochs}", disable=not progress)
        for step in bar:
            idx = order[step * schedule.batch_size : (step + 1) * schedule.batch_size]
            xb, yb, keep = masked_batch(model, x_train[idx], y_train[idx], lvls, generator)
            xb = _as_input(_to_device(xb, device), model.modality)
            logits = model(xb, keep=None if keep is None else keep.to(device))
            loss = F.cross_entropy(logits, _to_device(yb, device), label_smoothing=schedule.label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            loss_sum += loss.item() * len(yb)
            seen += len(yb)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}")
        record = _epoch_record(model, epoch, loss_sum / max(seen, 1), x_val, y_val, lvls, seed, schedule, device)
        state.history.append(record)
        state.seconds.append(time.perf_counter() - started)
        log.info("epoch %d: train loss %.4f, val accuracy %.4f, %.1f s", epoch, record["train_loss"],
                 record["val_accuracy"], state.seconds[-1])
        if record["val_accuracy"] > state.best_score:
            state.best_score, state.best_state = record["val_accuracy"], _cpu_state(model)
        state.epoch = epoch
        atomic_save(
            {
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "state": state,
                "config": config,
            },
            state_path,
        )
    model.load_state_dict(state.best_state)
    model.eval()
    return model, state.history, state.seconds


def _cpu_state(model) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _epoch_record(model, epoch, train_loss, x_val, y_val, levels, seed, schedule, device) -> dict:
    rows = evaluate(model, x_val, y_val, levels, seed=seed + 1, batch_size=max(schedule.batch_size, 256), device=device)
    record = {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": sum(r["loss"] for r in rows) / len(rows),
        "val_accuracy": sum(r["accuracy"] for r in rows) / len(rows),
    }
    for r in rows:
        record[f"val_accuracy_at_{r['level']:g}"] = r["accuracy"]
    return record


def history_table(history: list[dict], **labels) -> pd.DataFrame:
    """Per-epoch metrics as a tidy table, tagged with dataset/model/lambda labels."""
    table = pd.DataFrame(history)
    for key, value in reversed(labels.items()):
        table.insert(0, key, value)
    return table

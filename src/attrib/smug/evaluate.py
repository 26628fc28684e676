"""How SMUG's maps are judged: the saliency metric of Dabkowski & Gal (the SMUG paper's main
score) and sparsity (kept fraction, Gini index)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from attrib.models.base import chunked_logits, class_targets

SALIENCY_THRESHOLDS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
SALIENCY_MIN_AREA = 0.05


def crop_and_resize(x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Each image's box (r0, c0, r1, c1), end-exclusive pixel indices, cropped and resized back to
    the full size by bilinear interpolation, all at once; equal to ``F.interpolate(crop,
    size, mode="bilinear", align_corners=False)`` of each crop (source coordinates clamped to the
    crop, as interpolate does)."""
    n, _, h, w = x.shape
    boxes = boxes.to(x.device, torch.float64)
    r0, c0, r1, c1 = boxes.unbind(dim=1)
    out_rows = torch.arange(h, device=x.device, dtype=torch.float64) + 0.5
    out_cols = torch.arange(w, device=x.device, dtype=torch.float64) + 0.5
    src_rows = torch.minimum(torch.maximum(r0[:, None] + out_rows * ((r1 - r0) / h)[:, None] - 0.5, r0[:, None]),
                             r1[:, None] - 1)
    src_cols = torch.minimum(torch.maximum(c0[:, None] + out_cols * ((c1 - c0) / w)[:, None] - 0.5, c0[:, None]),
                             c1[:, None] - 1)
    grid_y = (2 * src_rows + 1) / h - 1  # pixel coordinate -> [-1, 1] with align_corners=False
    grid_x = (2 * src_cols + 1) / w - 1
    grid = torch.stack(torch.broadcast_tensors(grid_x[:, None, :], grid_y[:, :, None]), dim=-1)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def bounding_boxes(selected: torch.Tensor) -> torch.Tensor:
    """(N, 4) long (r0, c0, r1, c1), end-exclusive, of the selected pixels (N, H, W); the whole
    image where nothing is selected."""
    n, h, w = selected.shape
    rows, cols = selected.any(dim=2), selected.any(dim=1)
    empty = ~rows.any(dim=1)
    r0 = torch.where(empty, 0, rows.float().argmax(dim=1))
    r1 = torch.where(empty, h, h - rows.flip(1).float().argmax(dim=1))
    c0 = torch.where(empty, 0, cols.float().argmax(dim=1))
    c1 = torch.where(empty, w, w - cols.flip(1).float().argmax(dim=1))
    return torch.stack([r0, c0, r1, c1], dim=1)


def kept_tokens(ids: torch.Tensor, keep: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Token ids with every position where ``keep`` is False deleted (the rest shift left, in
    order) and padded back to the same length: the text "crop" of the saliency metric."""
    order = torch.argsort((~keep).to(torch.uint8), dim=1, stable=True)
    out = ids.gather(1, order)
    return torch.where(torch.arange(ids.shape[1], device=ids.device)[None] < keep.sum(1, keepdim=True), out, pad_id)


@torch.no_grad()
def saliency_metric(model, x: torch.Tensor, maps: torch.Tensor, target=None, *,
                    thresholds: Sequence[float] = SALIENCY_THRESHOLDS, min_area: float = SALIENCY_MIN_AREA,
                    chunk_size: int = 512) -> pd.DataFrame:
    """Dabkowski & Gal's saliency metric, one row per (input, threshold); lower is better.

    For each threshold t the positions with |map| > t·max|map| are selected; images: their
    tightest bounding box, area a = its fraction of the image, cropped and resized to the input
    size (:func:`crop_and_resize`); text: the selected real tokens alone, a = their fraction of
    the real tokens (special tokens stay). p = softmax probability of ``target`` (default: the
    predicted class) on the crop; score = log(max(min_area, a)) − log(p). The score of a map is
    the minimum over thresholds (:func:`saliency_metric_summary`). ``maps`` is (N, H, W) (or
    (N, C, H, W), summed over |channels|) for images and (N, L) for text.
    """
    n = x.shape[0]
    magnitude = maps.detach().abs().to(x.device).float()
    if model.modality == "image" and magnitude.dim() == 4:
        magnitude = magnitude.sum(dim=1)
    flat = magnitude.reshape(n, -1)
    t = class_targets(target, chunked_logits(model, x, chunk_size=chunk_size))
    levels = torch.as_tensor(list(thresholds), dtype=torch.float32, device=x.device)
    selected = flat[:, None, :] > levels[None, :, None] * flat.amax(dim=1)[:, None, None]  # (N, T, P)
    if model.modality == "text":
        features = model.feature_mask(x)
        chosen = selected & features[:, None]
        area = chosen.sum(-1).float() / features.sum(1, keepdim=True).clamp_min(1).float()
        keep = chosen | ((~features) & (x != model.pad_id))[:, None]
        crops = kept_tokens(x.repeat_interleave(len(levels), 0), keep.flatten(0, 1), model.pad_id)
    else:
        h, w = x.shape[-2:]
        boxes = bounding_boxes(selected.flatten(0, 1).view(-1, h, w))
        area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).float().view(n, -1) / (h * w)
        crops = None
    probs = []
    for a in range(0, n * len(levels), chunk_size):
        rows = torch.arange(a, min(a + chunk_size, n * len(levels)), device=x.device)
        image = rows // len(levels)
        batch = crops[rows] if crops is not None else crop_and_resize(x[image], boxes[rows])
        probs.append(model(batch).softmax(dim=1).gather(1, t[image, None]).squeeze(1))
    prob = torch.cat(probs).view(n, -1)
    score = torch.log(area.clamp_min(min_area)) - torch.log(prob)
    return pd.DataFrame({
        "input": np.arange(n).repeat(len(levels)),
        "threshold": np.tile(levels.cpu().numpy(), n),
        "area": area.flatten().cpu().numpy(),
        "prob": prob.flatten().cpu().numpy(),
        "score": score.flatten().cpu().numpy(),
    })


def saliency_metric_summary(table: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per input (and ``by`` columns): the row of the threshold with the lowest score."""
    keys = [*by, "input"]
    best = table.loc[table.groupby(keys, sort=False)["score"].idxmin()]
    return best.rename(columns={"threshold": "best_threshold"}).reset_index(drop=True)


def kept_fraction(maps: torch.Tensor, threshold: float = 0.05, valid: torch.Tensor | None = None) -> torch.Tensor:
    """(N,) sparsity as the fraction of positions kept: |map| > threshold·max|map| (over the
    ``valid`` positions, e.g. real tokens; all by default). An all-zero map keeps nothing."""
    magnitude = maps.detach().abs().reshape(maps.shape[0], -1).float()
    valid = torch.ones_like(magnitude, dtype=torch.bool) if valid is None else valid.reshape(maps.shape[0], -1)
    magnitude = torch.where(valid, magnitude, 0.0)
    kept = (magnitude > threshold * magnitude.amax(dim=1, keepdim=True)) & valid
    return kept.sum(1).float() / valid.sum(1).clamp_min(1).float()


def gini_index(maps: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """(N,) Gini index of |map| over the ``valid`` positions, a threshold-free sparsity: 0 for a
    constant map, (P − 1)/P when one position holds everything (Hurley & Rickard's form); NaN
    for an all-zero map."""
    magnitude = maps.detach().abs().reshape(maps.shape[0], -1).double()
    valid = torch.ones_like(magnitude, dtype=torch.bool) if valid is None else valid.reshape(maps.shape[0], -1)
    count = valid.sum(1).double()
    ordered = torch.where(valid, magnitude, torch.inf).sort(dim=1).values  # invalid last
    ordered = torch.where(torch.isinf(ordered), 0.0, ordered)
    rank = torch.arange(1, magnitude.shape[1] + 1, dtype=torch.float64, device=maps.device)[None]
    total = ordered.sum(1)
    weights = (count[:, None] - rank + 0.5) / count[:, None]
    gini = 1 - 2 * (ordered / torch.where(total > 0, total, 1)[:, None] * weights * (rank <= count[:, None])).sum(1)
    return torch.where(total > 0, gini, torch.nan).float()


def magnitude_maps(compared: dict[str, dict], saved: dict, n: int, text: bool) -> dict[str, torch.Tensor]:
    """The |map| of every method scored beside SMUG, by name: each compared method's stored
    attribution (images: its pixel magnitude (N, H, W); text: |features| (N, L)), then SMUG's
    ``smug_base`` and ``smug`` maps from the SMUG job's ``saved`` output, first ``n`` inputs."""
    maps = {}
    for name, attribution in compared.items():
        maps[name] = attribution["features" if text else "magnitude"][:n].float().abs()
    for name, key in (("smug_base", "base"), ("smug", "smug")):
        values = saved[key][:n].float().abs()
        maps[name] = values.flatten(1, 2) if text else values
    return maps

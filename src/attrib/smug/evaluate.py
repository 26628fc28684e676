"""How SMUG's maps are judged: the saliency metric of Dabkowski & Gal (the SMUG paper's main
score) and sparsity (kept fraction, Gini index)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from attrib.models.base import chunked_logits, class_targets

SALIENCY_PROTOCOLS = ("seed", "thresholds")
SALIENCY_THRESHOLDS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
SALIENCY_MIN_AREA = 0.05
PIXEL_LEVELS = 255  # inputs are in [0, 1]; the seed resizes crops as 8-bit images
SEED_THRESHOLD_COUNT = 100  # the seed steps through about this many of an image map's distinct values


def seed_thresholds(maps: torch.Tensor, every_value: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The SMUG authors' thresholds of each map (N, P), padded to (N, T) with a validity mask.

    As their ``utils.calculate_saliency_score``: the map's distinct values, sorted, with 0
    prepended (n values in all), every ``max(round(n / 100), 1)``-th of them from the first
    (Python's round: halves to even); text (``every_value``) takes every one. A 0 that the
    list then holds twice is listed once; thresholds above which nothing lies are still listed
    (the metric skips them)."""
    n, p = maps.shape
    values = maps.sort(dim=1).values
    new = torch.ones_like(values, dtype=torch.bool)
    new[:, 1:] = values[:, 1:] != values[:, :-1]
    distinct = torch.zeros_like(values).scatter_(1, new.long().cumsum(1) - 1, values)  # unique values first
    candidates = torch.cat([torch.zeros_like(values[:, :1]), distinct], dim=1)
    size = new.sum(dim=1) + 1
    step = (torch.ones_like(size) if every_value
            else torch.round(size.double() / SEED_THRESHOLD_COUNT).long().clamp_min(1))
    count = (size + step - 1) // step
    k = torch.arange(int(count.max()), device=maps.device)
    levels = candidates.gather(1, (k[None] * step[:, None]).clamp_max(p))
    repeated = torch.zeros_like(levels, dtype=torch.bool)
    repeated[:, 1:] = levels[:, 1:] == levels[:, :-1]
    return levels, (k[None] < count[:, None]) & ~repeated


def min_max_rescale(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each input (N, ...) stretched to [0, 1] over all its values, as the seed prepares every
    crop for the model (``utils.process_model_input``, pixel range (0, 1)); and which inputs
    are constant, where the stretch is undefined (the seed gets NaN there)."""
    flat = x.flatten(1)
    low, high = flat.amin(dim=1), flat.amax(dim=1)
    constant = high <= low
    scale = torch.where(constant, torch.ones_like(high), high - low)
    shape = (-1, *[1] * (x.dim() - 1))
    return (x - low.view(shape)) / scale.view(shape), constant


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
def saliency_metric(model, x: torch.Tensor, maps: torch.Tensor, target=None, *, protocol: str = "seed",
                    thresholds: Sequence[float] = SALIENCY_THRESHOLDS, min_area: float = SALIENCY_MIN_AREA,
                    chunk_size: int = 512) -> pd.DataFrame:
    """Dabkowski & Gal's saliency metric, one row per scored (input, threshold); lower is better.

    At each threshold t the positions with |map| > t are selected; images: their tightest
    bounding box, area a = its fraction of the image, cropped and resized to the input size
    (:func:`crop_and_resize`); text: the selected real tokens alone (the others deleted,
    special tokens kept), a = their fraction of the real tokens. p = softmax probability of
    ``target`` (default: the predicted class) on the crop; score = log(max(min_area, a)) − log(p).
    A map's score is the minimum over thresholds (:func:`saliency_metric_summary`).

    ``protocol="seed"`` is the SMUG authors' (``utils.calculate_saliency_score``): t runs over
    the map's own values (:func:`seed_thresholds`) and each resized image crop is rounded to
    8-bit levels and min–max stretched to the pixel range before the model sees it
    (:func:`min_max_rescale`; a constant crop cannot be, and is not scored).
    ``protocol="thresholds"``: t = each of ``thresholds`` × the map's max, crops as they are.
    Either way a threshold that selects nothing is skipped, so an all-zero map is not scored: it
    keeps one row with NaN threshold, area, prob and score.
    ``maps`` is (N, H, W) (or (N, C, H, W), summed over |channels|) for images and (N, L) for
    text (only real tokens count). Inputs × thresholds go through the model ``chunk_size`` at once.
    """
    if protocol not in SALIENCY_PROTOCOLS:
        raise ValueError(f"unknown saliency protocol {protocol!r}; expected one of {SALIENCY_PROTOCOLS}")
    n, text = x.shape[0], model.modality == "text"
    magnitude = maps.detach().abs().to(x.device).float()
    if not text and magnitude.dim() == 4:
        magnitude = magnitude.sum(dim=1)
    flat = magnitude.reshape(n, -1)
    if text:
        features = model.feature_mask(x)
        flat = torch.where(features, flat, 0.0)
    t = class_targets(target, chunked_logits(model, x, chunk_size=chunk_size))
    if protocol == "seed":
        levels, valid = seed_thresholds(flat, every_value=text)
    else:
        fractions = torch.as_tensor(list(thresholds), dtype=torch.float32, device=x.device)
        levels = fractions[None] * flat.amax(dim=1, keepdim=True)
        valid = torch.ones_like(levels, dtype=torch.bool)
    image, column = (valid & (levels < flat.amax(dim=1, keepdim=True))).nonzero(as_tuple=True)
    level = levels[image, column]
    area, prob = torch.empty_like(level), torch.empty_like(level)
    for a in range(0, len(level), chunk_size):
        rows = slice(a, a + chunk_size)
        selected = flat[image[rows]] > level[rows, None]
        if text:
            chosen = selected & features[image[rows]]
            area[rows] = chosen.sum(1).float() / features[image[rows]].sum(1).clamp_min(1).float()
            keep = chosen | (~features[image[rows]] & (x[image[rows]] != model.pad_id))
            batch, constant = kept_tokens(x[image[rows]], keep, model.pad_id), None
        else:
            h, w = x.shape[-2:]
            boxes = bounding_boxes(selected.view(-1, h, w))
            area[rows] = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).float() / (h * w)
            batch, constant = crop_and_resize(x[image[rows]], boxes), None
            if protocol == "seed":  # the seed's crops are 8-bit images (PIL), then stretched
                batch, constant = min_max_rescale(torch.round(batch * PIXEL_LEVELS) / PIXEL_LEVELS)
        p = model(batch).softmax(dim=1).gather(1, t[image[rows], None]).squeeze(1).float()
        prob[rows] = p if constant is None else torch.where(constant, torch.nan, p)
    score = torch.log(area.clamp_min(min_area)) - torch.log(prob)
    unscored = np.setdiff1d(np.arange(n), image.cpu().numpy())
    nan = np.full(len(unscored), np.nan)
    return pd.DataFrame({
        "input": np.concatenate([image.cpu().numpy(), unscored]),
        "threshold": np.concatenate([level.cpu().numpy(), nan]),
        "area": np.concatenate([area.cpu().numpy(), nan]),
        "prob": np.concatenate([prob.cpu().numpy(), nan]),
        "score": np.concatenate([score.cpu().numpy(), nan]),
    }).sort_values(["input", "threshold"], kind="stable", ignore_index=True)


def saliency_metric_summary(table: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per input (and ``by`` columns): the row of the threshold with the lowest score; NaN
    where no threshold was scored (an all-zero map, or only constant crops)."""
    keys = [*by, "input"]
    ranked = table.sort_values("score", kind="stable", na_position="last")
    best = ranked.drop_duplicates(keys).sort_index()
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

"""Saliency metric (Dabkowski & Gal), sparsity and, on digits, ground-truth scores of SMUG's maps
and of the compared methods' maps, on the inputs SMUG explained."""

from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from attrib.evalset import load_model_and_eval_set
from attrib.smug.evaluate import gini_index, kept_fraction, saliency_metric, saliency_metric_summary
from attrib.attribution.scores import ground_truth_table
from attrib.runtime import resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
saved = torch.load(sm.input.maps, weights_only=False)
n = saved["target"].shape[0]
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, n, device)
x, target = evalset.inputs, saved["target"].to(device)
text = model.modality == "text"


def magnitude_map(attribution: dict) -> torch.Tensor:
    """(N, H, W) for images, (N, L) for text: the |map| each metric reads."""
    if text:
        return attribution["features"][:n].float().abs()
    return attribution["magnitude"][:n].float()


maps = {Path(path).stem: magnitude_map(torch.load(path, weights_only=False)) for path in sm.input.compared}
for name, key in (("smug_base", "base"), ("smug", "smug")):
    maps[name] = saved[key].float().abs().flatten(1, 2) if text else saved[key].float().abs()

valid = model.feature_mask(x).cpu() if text else None
parts = []
for method, values in maps.items():
    table = saliency_metric(model, x, values.to(device), target, thresholds=sm.params.thresholds,
                            chunk_size=sm.params.chunk_size)
    best = saliency_metric_summary(table).rename(columns={"score": "saliency_metric"})
    best["kept_fraction"] = kept_fraction(values, sm.params.sparsity_threshold, valid).numpy()
    best["gini"] = gini_index(values, valid).numpy()
    if evalset.masks is not None:
        features = F.avg_pool2d(values[:, None], model.patch).flatten(1)
        truth = ground_truth_table(features, evalset.masks.cpu(), model.patch)
        best = best.merge(truth.rename(columns={"image": "input"}), on="input")
    best.insert(0, "method", method)
    parts.append(best)
    log.info("%s: median saliency metric %.3f, kept %.3f", method, best["saliency_metric"].median(),
             best["kept_fraction"].mean())
scores = pd.concat(parts, ignore_index=True)
scores.insert(0, "model", sm.wildcards.model)
scores.insert(0, "dataset", sm.wildcards.dataset)
scores.to_csv(sm.output[0], index=False)

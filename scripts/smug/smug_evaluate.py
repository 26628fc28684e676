"""Saliency metric (Dabkowski & Gal), sparsity and, on digits, ground-truth scores of SMUG's maps
and of the compared methods' maps, on the inputs SMUG explained."""

from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from attrib.evalset import start_evaluation_job
from attrib.smug.evaluate import gini_index, kept_fraction, magnitude_maps, saliency_metric, saliency_metric_summary
from attrib.attribution.scores import ground_truth_table
from attrib.tables import labelled

sm = snakemake  # noqa: F821
saved = torch.load(sm.input.maps, weights_only=False)
n = saved["target"].shape[0]
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=n,
)
x, target = evalset.inputs, saved["target"].to(device)
text = model.modality == "text"

compared = {Path(path).stem: torch.load(path, weights_only=False) for path in sm.input.compared}
maps = magnitude_maps(compared, saved, n, text)

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
labelled(scores, dataset=sm.wildcards.dataset, model=sm.wildcards.model).to_csv(sm.output[0], index=False)

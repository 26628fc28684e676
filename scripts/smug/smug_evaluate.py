"""Saliency metric (Dabkowski & Gal), sparsity and, on digits, ground-truth scores of SMUG's maps
and of the compared methods' maps, on the inputs SMUG explained. SMUG's maps are scored only where
its solver returned a mask (status optimal or timeout); a fallback keeps every window and is no
result, so its row carries the status and no scores."""

from pathlib import Path

import numpy as np
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
status = np.asarray(saved["status"], dtype=object)
log.info("SMUG masks: %s", pd.Series(status).value_counts().to_dict())

compared = {Path(path).stem: torch.load(path, weights_only=False) for path in sm.input.compared}
maps = magnitude_maps(compared, saved, n, text)

valid = model.feature_mask(x).cpu() if text else None
parts = []
for method, values in maps.items():
    rows = np.flatnonzero(status != "fallback") if method == "smug" else np.arange(n)
    table = saliency_metric(model, x[rows], values[rows].to(device), target[rows], protocol=sm.params.protocol,
                            thresholds=sm.params.thresholds, chunk_size=sm.params.chunk_size)
    best = saliency_metric_summary(table).rename(columns={"score": "saliency_metric"})
    best["input"] = rows[best["input"]]
    best["kept_fraction"] = kept_fraction(values[rows], sm.params.sparsity_threshold,
                                          None if valid is None else valid[rows]).numpy()
    best["gini"] = gini_index(values[rows], None if valid is None else valid[rows]).numpy()
    if evalset.masks is not None:
        features = F.avg_pool2d(values[rows][:, None], model.patch).flatten(1)
        truth = ground_truth_table(features, evalset.masks[rows].cpu(), model.patch)
        best = best.merge(truth.assign(input=rows[truth["image"]]).drop(columns="image"), on="input")
    best = best.set_index("input").reindex(pd.RangeIndex(n, name="input")).reset_index()
    best.insert(0, "status", status if method == "smug" else None)
    best.insert(0, "method", method)
    parts.append(best)
    log.info("%s: median saliency metric %.3f over %d scored inputs (%d not scored), kept %.3f", method,
             best["saliency_metric"].median(), best["saliency_metric"].notna().sum(),
             best["saliency_metric"].isna().sum(), best["kept_fraction"].mean())
scores = pd.concat(parts, ignore_index=True)
labelled(scores, dataset=sm.wildcards.dataset, model=sm.wildcards.model).to_csv(sm.output[0], index=False)

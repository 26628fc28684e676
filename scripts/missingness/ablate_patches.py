"""Missingness: remove features in each configured order and record whether predictions change."""

from pathlib import Path

import pandas as pd
import torch

from attrib.missingness.ablation import patch_ablation, random_orderings, saliency_orderings
from attrib.evalset import start_evaluation_job
from attrib.tables import labelled

sm = snakemake  # noqa: F821
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=sm.params.eval_size,
)
x = evalset.inputs
p = model.num_features(x[:1])
feature_mask = model.feature_mask(x)
steps = sorted(set(range(0, p + 1, sm.params.skip)) | {p})
tables = []
for spec in sm.params.orders:
    if spec["file"] is None:
        order = random_orderings(len(x), p, sm.params.seed, feature_mask=feature_mask.cpu())
    else:
        features = torch.load(spec["file"], map_location="cpu", weights_only=True)["features"][: len(x)]
        order = saliency_orderings(features, descending=spec["descending"], feature_mask=feature_mask.cpu())
    generator = torch.Generator(device=device).manual_seed(sm.params.seed)
    table = patch_ablation(
        model,
        x,
        order.to(device),
        steps=steps,
        removal=sm.wildcards.removal,
        chunk_size=sm.params.chunk_size,
        generator=generator,
        feature_mask=feature_mask,
    )
    table.insert(0, "order", spec["name"])
    half = table[table["fraction_removed"].between(0.45, 0.55)]["unchanged"].mean()
    log.info("%s order: unchanged after half removed %.3f", spec["name"], half)
    tables.append(table)
table = pd.concat(tables, ignore_index=True)
labelled(table, dataset=sm.wildcards.dataset, model=sm.wildcards.model, removal=sm.wildcards.removal).to_csv(
    sm.output[0], index=False
)

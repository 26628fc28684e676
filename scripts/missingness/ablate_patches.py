"""Missingness: remove features in each configured order and record whether predictions change."""

from pathlib import Path

import pandas as pd
import torch

from attrib.missingness.ablation import patch_ablation, random_orderings, saliency_orderings
from attrib.evalset import load_model_and_eval_set
from attrib.runtime import resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, sm.params.eval_size, device)
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
for column, value in (("removal", sm.wildcards.removal), ("model", sm.wildcards.model), ("dataset", sm.wildcards.dataset)):
    table.insert(0, column, value)
table.to_csv(sm.output[0], index=False)

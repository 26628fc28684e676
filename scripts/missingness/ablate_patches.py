"""Missingness: remove features in each configured order and record whether predictions change,
on one shard of the evaluation subset (random orders and fills keyed by each image's index)."""

from pathlib import Path

import pandas as pd
import torch

from attrib.missingness.ablation import patch_ablation, random_orderings, saliency_orderings
from attrib.evalset import start_evaluation_job
from attrib.seeding import KeyedRows
from attrib.tables import labelled

sm = snakemake  # noqa: F821
start, stop = sm.params.rows
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=stop, start=start,
)
x = evalset.inputs
p = model.num_features(x[:1])
feature_mask = model.feature_mask(x)
steps = sorted(set(range(0, p + 1, sm.params.skip)) | {p})
tables = []
for spec in sm.params.orders:
    if spec["file"] is None:
        order = random_orderings(len(x), p, sm.params.seed, feature_mask=feature_mask.cpu(), start=start)
    else:  # memory-mapped: only this shard's rows are read
        features = torch.load(spec["file"], map_location="cpu", weights_only=True, mmap=True)["features"][start:stop]
        order = saliency_orderings(features, descending=spec["descending"], feature_mask=feature_mask.cpu())
    table = patch_ablation(
        model,
        x,
        order.to(device),
        steps=steps,
        removal=sm.wildcards.removal,
        chunk_size=sm.params.chunk_size,
        generator=KeyedRows(sm.params.seed, "patch_ablation", device),
        feature_mask=feature_mask,
        index=range(start, stop),
    )
    table.insert(0, "order", spec["name"])
    half = table[table["fraction_removed"].between(0.45, 0.55)]["unchanged"].mean()
    log.info("%s order: unchanged after half removed %.3f", spec["name"], half)
    tables.append(table)
table = pd.concat(tables, ignore_index=True)
labelled(table, dataset=sm.wildcards.dataset, model=sm.wildcards.model, removal=sm.wildcards.removal).to_csv(
    sm.output[0], index=False
)

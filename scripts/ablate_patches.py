"""Missingness: remove features in random order and record whether predictions change."""

from pathlib import Path

import torch

from attrib.ablation import patch_ablation, random_orderings
from attrib.evalset import load_model_and_eval_set
from attrib.runtime import resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, sm.params.eval_size, device)
x = evalset.inputs
p = model.num_features(x[:1])
feature_mask = model.feature_mask(x)
order = random_orderings(len(x), p, sm.params.seed, feature_mask=feature_mask.cpu()).to(device)
steps = sorted(set(range(0, p + 1, sm.params.skip)) | {p})
generator = torch.Generator(device=device).manual_seed(sm.params.seed)
table = patch_ablation(
    model,
    x,
    order,
    steps=steps,
    removal=sm.wildcards.removal,
    chunk_size=sm.params.chunk_size,
    generator=generator,
    feature_mask=feature_mask,
)
for column, value in (("removal", sm.wildcards.removal), ("model", sm.wildcards.model), ("dataset", sm.wildcards.dataset)):
    table.insert(0, column, value)
table.to_csv(sm.output[0], index=False)
log.info("unchanged after half removed: %.3f", table[table["fraction_removed"].between(0.45, 0.55)]["unchanged"].mean())

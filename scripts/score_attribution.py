"""Score one method's attributions: DiffID (both games, all ratios) and, where the dataset has
ground-truth masks, pointing game / relevance mass / mask AUC."""

from pathlib import Path

import pandas as pd
import torch

from attrib.evalset import load_model_and_eval_set
from attrib.metrics import diffid, ground_truth_table
from attrib.runtime import resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, sm.params.eval_size, device)
saved = torch.load(sm.input.attribution, weights_only=False)
labels = dict(dataset=sm.wildcards.dataset, model=sm.wildcards.model, method=sm.wildcards.method)

magnitude = saved["magnitude"].float().unsqueeze(1).to(device)
table = diffid(model, evalset.inputs, magnitude, saved["target"].to(device), chunk_size=sm.params.chunk_size)
for key, value in reversed(labels.items()):
    table.insert(0, key, value)
table.to_csv(sm.output.diffid, index=False)

truth = pd.DataFrame(columns=["image", "pointing", "relevance_mass", "mask_auc"])
if evalset.masks is not None:
    truth = ground_truth_table(saved["features"].float(), evalset.masks, model.patch)
for key, value in reversed(labels.items()):
    truth.insert(0, key, value)
truth.to_csv(sm.output.ground_truth, index=False)
log.info("scored %s: %d DiffID rows, %d ground-truth rows", sm.wildcards.method, len(table), len(truth))

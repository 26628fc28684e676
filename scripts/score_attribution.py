"""Score one method's attributions: the classic deletion/insertion AUCs (every modality) and, on
images, DiffID (both games, all ratios) and, where the dataset has ground-truth masks, pointing
game / relevance mass / mask AUC."""

from pathlib import Path

import pandas as pd
import torch

from attrib.evalset import load_model_and_eval_set
from attrib.metrics import curve_auc, deletion_insertion_curves, diffid, ground_truth_table
from attrib.runtime import resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, sm.params.eval_size, device)
saved = torch.load(sm.input.attribution, weights_only=False)
target = saved["target"].to(device)
labels = dict(dataset=sm.wildcards.dataset, model=sm.wildcards.model, method=sm.wildcards.method,
              registry=sm.params.registry, recalibrate=bool(sm.params.options.get("recalibrate", False)))


def labelled(table: pd.DataFrame) -> pd.DataFrame:
    for key, value in reversed(labels.items()):
        table.insert(0, key, value)
    return table


image = model.modality == "image"
curves = deletion_insertion_curves(model, evalset.inputs, saved["features"].float().to(device), target,
                                   steps=sm.params.curves["steps"], baseline=sm.params.curves["baseline"] if image else None,
                                   chunk_size=sm.params.chunk_size)
labelled(curve_auc(curves).assign(baseline=sm.params.curves["baseline"] if image else "mask_token")).to_csv(
    sm.output.deletion_insertion, index=False)

table = pd.DataFrame(columns=["image", "game", "ratio", "logit_ratio", "correct"])
truth = pd.DataFrame(columns=["image", "pointing", "relevance_mass", "mask_auc"])
if image:
    magnitude = saved["magnitude"].float().unsqueeze(1).to(device)
    table = diffid(model, evalset.inputs, magnitude, target, chunk_size=sm.params.chunk_size)
    if evalset.masks is not None:
        truth = ground_truth_table(saved["features"].float(), evalset.masks, model.patch)
labelled(table).to_csv(sm.output.diffid, index=False)
labelled(truth).to_csv(sm.output.ground_truth, index=False)
log.info("scored %s: %d DiffID rows, %d ground-truth rows, %d curve AUCs", sm.wildcards.method, len(table),
         len(truth), len(curves))

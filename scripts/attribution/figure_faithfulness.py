"""DiffID (vanilla vs re-calibrated), ground-truth scores and the classic deletion/insertion
areas per method, from the per-method score tables."""

import pandas as pd

from attrib.attribution.figures import deletion_insertion_figure, faithfulness_figure, recalibration_pairs
from attrib.figures import save
from attrib.attribution.scores import diffid_auc, diffid_summary
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
keys = ["dataset", "model", "method", "registry", "recalibrate"]


def gathered(paths) -> pd.DataFrame:
    """Rows of every non-empty table (text has no DiffID, only digits has ground truth)."""
    parts = [t for t in map(pd.read_csv, paths) if len(t)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=keys)


def images(table: pd.DataFrame) -> pd.Series:
    """The n of each method: how many images its scores rest on."""
    return table.groupby(keys, sort=False)["image"].nunique().rename("images")


rows = gathered(sm.input.diffid)
summary = diffid_summary(rows, by=keys)
summary.to_csv(sm.output.diffid, index=False)
auc = diffid_auc(rows, by=keys)
if len(auc):
    auc = auc.join(images(rows), on=keys)
auc.to_csv(sm.output.diffid_auc, index=False)
pairs = recalibration_pairs(auc)
pairs.to_csv(sm.output.recalibration, index=False)
scores = ["pointing", "relevance_mass", "mask_auc"]
truth = gathered(sm.input.ground_truth).reindex(columns=keys + ["image"] + scores)
truth = truth.groupby(keys, sort=False)[scores].mean().join(images(truth)).reset_index()
truth.to_csv(sm.output.ground_truth, index=False)
curves = gathered(sm.input.deletion_insertion)
curves = curves.groupby(keys + ["game", "baseline"], sort=False).agg(auc=("auc", "mean"), images=("image", "nunique"))
curves = curves.reset_index()
curves.to_csv(sm.output.deletion_insertion, index=False)
save(faithfulness_figure(summary, auc, truth, pairs), sm.output.figure)
save(deletion_insertion_figure(curves), sm.output.curves_figure)

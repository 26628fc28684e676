"""DiffID (vanilla vs re-calibrated) and ground-truth scores per method, from tidy tables."""

import pandas as pd

from attrib.figures import faithfulness_figure, save
from attrib.metrics import diffid_auc, diffid_summary
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
keys = ["dataset", "model", "method"]
rows = pd.concat(map(pd.read_csv, sm.input.diffid), ignore_index=True)
summary = diffid_summary(rows, by=keys)
summary.to_csv(sm.output.diffid, index=False)
auc = diffid_auc(rows, by=keys)
auc.to_csv(sm.output.diffid_auc, index=False)
scores = ["pointing", "relevance_mass", "mask_auc"]
parts = [t for t in map(pd.read_csv, sm.input.ground_truth) if len(t)]  # empty where no masks
truth = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=keys + scores)
truth = truth.groupby(keys, sort=False)[scores].mean().reset_index()
truth.to_csv(sm.output.ground_truth, index=False)
save(faithfulness_figure(summary, auc, truth), sm.output.figure)

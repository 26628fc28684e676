"""LIME top-K test figure: evaluating model × explanation source, with the paper's summary table."""

import pandas as pd

from attrib.missingness.ablation import ablation_summary, topk_summary
from attrib.figures import dataset_meta, save
from attrib.missingness.figures import topk_figure
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
topk = pd.concat(map(pd.read_csv, sm.input.topk), ignore_index=True)
curve = ablation_summary(topk, ["dataset", "model", "removal", "test", "source", "source_kind"], step="k")
meta = dataset_meta(sm.input.metas)
curve["num_classes"] = curve["dataset"].map(lambda d: meta[d]["num_classes"])
curve.to_csv(sm.output.curve, index=False)
topk_summary(curve).to_csv(sm.output.summary, index=False)
save(topk_figure(curve), sm.output.figure)

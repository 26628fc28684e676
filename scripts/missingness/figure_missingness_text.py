"""Text analogue of missingness: tokens replaced by [MASK] vs deleted from the sequence."""

import pandas as pd

from attrib.missingness.ablation import ablation_summary
from attrib.figures import dataset_meta, save
from attrib.missingness.figures import text_missingness_figure
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
samples = pd.concat(map(pd.read_csv, sm.input.patches), ignore_index=True)
curve = ablation_summary(samples, ["dataset", "model", "removal", "order"])
meta = dataset_meta(sm.input.metas)
curve["num_classes"] = curve["dataset"].map(lambda d: meta[d]["num_classes"])
curve.to_csv(sm.output.curve, index=False)
save(text_missingness_figure(curve), sm.output.figure)

"""MuS E2 figure: certified accuracy vs radius per λ."""

import pandas as pd

from attrib.mus.figures import certified_accuracy_curve, certified_accuracy_figure
from attrib.figures import dataset_meta, save
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
samples = pd.concat(map(pd.read_csv, sm.input.samples), ignore_index=True)
samples.to_csv(sm.output.samples, index=False)
curve = certified_accuracy_curve(samples)
meta = dataset_meta(sm.input.metas)
curve["num_classes"] = curve["dataset"].map(lambda d: meta[d]["num_classes"])
curve.to_csv(sm.output.curve, index=False)
save(certified_accuracy_figure(curve), sm.output.figure)

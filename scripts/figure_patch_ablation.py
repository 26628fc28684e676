"""Missingness figure: predictions unchanged and class entropy under random removal."""

import pandas as pd

from attrib.figures import ablation_curve, ablation_figure, save
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
samples = pd.concat(map(pd.read_csv, sm.input), ignore_index=True)
samples.to_csv(sm.output.samples, index=False)
curve = ablation_curve(samples)
curve.to_csv(sm.output.curve, index=False)
save(ablation_figure(curve), sm.output.figure)

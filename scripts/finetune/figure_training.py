"""Training curves of the masked fine-tuning, and the test accuracy table."""

import pandas as pd

from attrib.figures import save, training_figure
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
history = pd.concat(map(pd.read_csv, sm.input.histories), ignore_index=True)
history.to_csv(sm.output.history, index=False)
pd.concat(map(pd.read_csv, sm.input.accuracies), ignore_index=True).to_csv(sm.output.accuracy, index=False)
save(training_figure(history), sm.output.figure)

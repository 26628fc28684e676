"""Training curves of the masked fine-tuning, and the test accuracy table."""

import pandas as pd

from attrib.figures import dataset_meta, save, training_figure
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
meta = dataset_meta(sm.input.metas)
history = pd.concat(map(pd.read_csv, sm.input.histories), ignore_index=True)
history["num_classes"] = history["dataset"].map(lambda d: meta[d]["num_classes"])
history["val_size"] = history["dataset"].map(lambda d: meta[d].get("sizes", {}).get("val"))
history.to_csv(sm.output.history, index=False)
accuracy = pd.concat(map(pd.read_csv, sm.input.accuracies), ignore_index=True)
accuracy["num_classes"] = accuracy["dataset"].map(lambda d: meta[d]["num_classes"])
accuracy["test_size"] = accuracy["dataset"].map(lambda d: meta[d].get("sizes", {}).get("test"))
accuracy.to_csv(sm.output.accuracy, index=False)
save(training_figure(history), sm.output.figure)

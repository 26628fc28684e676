"""MuS figures: E1 main (certified vs attack), E1 appendix grid, E3 sparsity, masked accuracy.
Fails if the pipeline's own outputs contradict the certificate."""

import pandas as pd

from attrib.figures import dataset_meta, save
from attrib.mus.figures import attack_curves, certified_stability_curves, e1_grid_figure, e1_main_curves, e1_main_figure, e3_figure, masked_accuracy, masked_accuracy_figure, soundness_violations, sparsity_summary
from attrib.runtime import setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0])
out = sm.output
e1 = pd.concat(map(pd.read_csv, sm.input.e1), ignore_index=True)
attack = pd.concat(map(pd.read_csv, sm.input.attack), ignore_index=True)
e3 = pd.concat([t for t in map(pd.read_csv, sm.input.e3) if len(t)], ignore_index=True)
e1.to_csv(out.e1_samples, index=False)
attack.to_csv(out.attack_samples, index=False)

problems = soundness_violations(attack, attack_curves(attack))
if problems:
    raise RuntimeError("MuS certificate contradicted by the attack: " + "; ".join(problems))
log.info("soundness: the voting attack never refutes a certified radius (%d samples)", len(attack))
main = e1_main_curves(e1, attack)
main.to_csv(out.e1_curves, index=False)
save(e1_main_figure(main), out.e1_figure)

grid = certified_stability_curves(e1)
grid.to_csv(out.e1_grid_curves, index=False)
save(e1_grid_figure(grid), out.e1_grid_figure)

summary = sparsity_summary(e3)
summary.to_csv(out.e3, index=False)
save(e3_figure(summary), out.e3_figure)

accuracy = masked_accuracy(e1)
meta = dataset_meta(sm.input.metas)
accuracy["num_classes"] = accuracy["dataset"].map(lambda d: meta[d]["num_classes"])
accuracy.to_csv(out.masked_accuracy, index=False)
save(masked_accuracy_figure(accuracy), out.masked_accuracy_figure)

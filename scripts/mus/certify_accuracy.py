"""MuS E2: certified accuracy of the smoothed classifier at one λ."""

from pathlib import Path

from attrib.evalset import load_model_and_eval_set
from attrib.mus.smoothing import certified_accuracy_table
from attrib.runtime import resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, sm.params.eval_size, device)
table = certified_accuracy_table(
    model,
    evalset.inputs,
    evalset.labels,
    lam=float(sm.wildcards.lam),
    q=sm.params.q,
    seed=sm.params.seed,
    chunk_size=sm.params.chunk_size,
)
table.insert(0, "num_features", model.num_features(evalset.inputs[:1]))
table.insert(0, "model", sm.wildcards.model)
table.insert(0, "dataset", sm.wildcards.dataset)
table.to_csv(sm.output[0], index=False)
log.info("λ=%s: smoothed accuracy %.4f", sm.wildcards.lam, table["correct"].mean())

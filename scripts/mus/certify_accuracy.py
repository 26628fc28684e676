"""MuS E2: certified accuracy of the smoothed classifier at one λ."""

from pathlib import Path

from attrib.evalset import start_evaluation_job
from attrib.mus.smoothing import certified_accuracy_table
from attrib.tables import labelled

sm = snakemake  # noqa: F821
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=sm.params.eval_size,
)
table = certified_accuracy_table(
    model,
    evalset.inputs,
    evalset.labels,
    lam=float(sm.wildcards.lam),
    q=sm.params.q,
    seed=sm.params.seed,
    chunk_size=sm.params.chunk_size,
)
labelled(
    table, dataset=sm.wildcards.dataset, model=sm.wildcards.model, num_features=model.num_features(evalset.inputs[:1])
).to_csv(sm.output[0], index=False)
log.info("λ=%s: smoothed accuracy %.4f", sm.wildcards.lam, table["correct"].mean())

"""MuS E1 empirical: the box attack on one explanation method and top-f at one λ, on one shard
of the attacked samples."""

from pathlib import Path

import torch

from attrib.evalset import start_evaluation_job
from attrib.mus.experiments import e1_attack_table, explained_inputs
from attrib.tables import labelled

sm = snakemake  # noqa: F821
start, stop = sm.params.rows
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=stop, start=start,
)
spec = sm.params.attack
scores = torch.load(sm.input.explanations)["scores"][spec["method"]][start:stop]
x = explained_inputs(evalset.inputs, evalset.meta, scores)
table = e1_attack_table(
    model, x, scores, spec["top_fraction"], float(sm.wildcards.lam), q=sm.params.q, seed=sm.params.seed,
    chunk_size=sm.params.chunk_size, modes=spec["modes"], with_mu=spec["with_mu"], iterations=spec["iterations"],
    candidates=spec["candidates"], method=spec["method"], start=start,
)
labelled(table, dataset=sm.wildcards.dataset, model=sm.wildcards.model).to_csv(sm.output[0], index=False)
log.info("λ=%s, samples %d..%d: median r_max inc %.1f dec %.1f", sm.wildcards.lam, start, stop,
         table["r_max_incremental"].median(), table["r_max_decremental"].median())

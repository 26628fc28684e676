"""MuS E1 certified (four (α, μ) configurations per method and top-f) and E3 sparsity at one λ,
on one shard of the certified samples (E3 on those among the first sparsity_samples)."""

from pathlib import Path

import pandas as pd
import torch

from attrib.evalset import start_evaluation_job
from attrib.mus.experiments import e1_certified_table, e3_sparsity_table, explained_inputs
from attrib.tables import labelled

sm = snakemake  # noqa: F821
start, stop = sm.params.rows
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=stop, start=start,
)
scores = {m: s[start:stop] for m, s in torch.load(sm.input.explanations)["scores"].items()}
x = explained_inputs(evalset.inputs, evalset.meta, next(iter(scores.values())))
lam = float(sm.wildcards.lam)
common = {"q": sm.params.q, "seed": sm.params.seed, "chunk_size": sm.params.chunk_size, "start": start}
ids = {"dataset": sm.wildcards.dataset, "model": sm.wildcards.model}

e1 = e1_certified_table(model, x, evalset.labels, scores, sm.params.top_fractions, lam, **common)
labelled(e1, **ids).to_csv(sm.output.e1, index=False)
log.info("λ=%s, samples %d..%d: consistent %.3f, mean certified flips (α,0) %.2f", lam, start, stop,
         e1["consistent"].mean(), e1["flips_a_0"].mean())

sparse = max(0, min(stop, sm.params.sparsity_samples) - start)  # E3 samples in this shard
if lam <= sm.params.sparsity_max_lambda and sparse:
    e3 = e3_sparsity_table(model, x[:sparse], {m: s[:sparse] for m, s in scores.items()}, lam, **common)
    labelled(e3, **ids)
    log.info("λ=%s: mean certified k/p %.3f", lam, e3["k_over_p"].mean())
else:  # E3 is defined for λ ≤ 1/2 only (and may lie in other shards): an empty table keeps the DAG uniform
    e3 = pd.DataFrame(columns=["dataset", "model", "sample", "method", "with_mu", "lambda", "requested_lambda", "k",
                               "num_features", "k_over_p", "certified"])
e3.to_csv(sm.output.e3, index=False)

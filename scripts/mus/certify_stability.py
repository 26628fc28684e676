"""MuS E1 certified (four (α, μ) configurations per method and top-f) and E3 sparsity at one λ."""

from pathlib import Path

import pandas as pd
import torch

from attrib.evalset import start_evaluation_job
from attrib.mus.experiments import e1_certified_table, e3_sparsity_table, trim_padding
from attrib.tables import labelled

sm = snakemake  # noqa: F821
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=sm.params.samples,
)
x = trim_padding(evalset.inputs, evalset.meta)
scores = {m: s[: len(x)] for m, s in torch.load(sm.input.explanations)["scores"].items()}
lam = float(sm.wildcards.lam)
common = {"q": sm.params.q, "seed": sm.params.seed, "chunk_size": sm.params.chunk_size}
ids = {"dataset": sm.wildcards.dataset, "model": sm.wildcards.model}

e1 = e1_certified_table(model, x, evalset.labels, scores, sm.params.top_fractions, lam, **common)
labelled(e1, **ids).to_csv(sm.output.e1, index=False)
log.info("λ=%s: consistent %.3f, mean certified flips (α,0) %.2f", lam, e1["consistent"].mean(), e1["flips_a_0"].mean())

if lam <= sm.params.sparsity_max_lambda:
    e3 = e3_sparsity_table(model, x[: sm.params.sparsity_samples],
                           {m: s[: sm.params.sparsity_samples] for m, s in scores.items()}, lam, **common)
    labelled(e3, **ids)
    log.info("λ=%s: mean certified k/p %.3f", lam, e3["k_over_p"].mean())
else:  # E3 is defined for λ ≤ 1/2 only: an empty table keeps the DAG uniform
    e3 = pd.DataFrame(columns=["dataset", "model", "sample", "method", "with_mu", "lambda", "requested_lambda", "k",
                               "num_features", "k_over_p", "certified"])
e3.to_csv(sm.output.e3, index=False)

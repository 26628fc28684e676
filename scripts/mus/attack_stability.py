"""MuS E1 empirical: the box attack on one explanation method and top-f at one λ."""

from pathlib import Path

import torch

from attrib.evalset import load_model_and_eval_set
from attrib.mus.experiments import e1_attack_table, trim_padding
from attrib.runtime import resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, sm.params.samples, device)
x = trim_padding(evalset.inputs, evalset.meta)
spec = sm.params.attack
scores = torch.load(sm.input.explanations)["scores"][spec["method"]][: len(x)]
table = e1_attack_table(
    model, x, scores, spec["top_fraction"], float(sm.wildcards.lam), q=sm.params.q, seed=sm.params.seed,
    chunk_size=sm.params.chunk_size, modes=spec["modes"], with_mu=spec["with_mu"], iterations=spec["iterations"],
    candidates=spec["candidates"], method=spec["method"],
)
table.insert(0, "model", sm.wildcards.model)
table.insert(0, "dataset", sm.wildcards.dataset)
table.to_csv(sm.output[0], index=False)
log.info("λ=%s: median r_max inc %.1f dec %.1f", sm.wildcards.lam, table["r_max_incremental"].median(),
         table["r_max_decremental"].median())

"""MuS explanations: scores over the p features of the λ = 1 model's prediction, per method."""

from pathlib import Path

import torch

from attrib.evalset import start_evaluation_job
from attrib.mus.experiments import explanation_scores, trim_padding
from attrib.runtime import atomic_save

sm = snakemake  # noqa: F821
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=sm.params.samples,
)
x = trim_padding(evalset.inputs, evalset.meta)
registry = dict(zip(sm.params.registry, sm.input.attributions))
scores = {}
for method, options in sm.params.methods.items():
    features = torch.load(registry[method])["features"] if method in registry else None
    scores[method] = explanation_scores(model, x, method, options, chunk_size=sm.params.chunk_size,
                                        seed=sm.params.seed, registry_features=features).cpu()
    log.info("%s: scored %d inputs over %d features", method, len(x), model.num_features(x))
atomic_save({"scores": scores, "num_inputs": len(x)}, sm.output[0])
